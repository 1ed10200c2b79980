"""The scan parser fuzzed: whatever a reader sends, nothing crashes and nothing unsafe passes."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from register_agent.config import ScansConfig
from register_agent.readers.reader import RawScan
from register_agent.readers.scans import (
    Reason,
    Rejection,
    Repeat,
    Scan,
    ScanPipeline,
    ScanRules,
    parse,
)

RULES = ScanRules.from_config(ScansConfig())
# Text that lands near the whitelist's edges: hex, separators, controls, escapes, Unicode.
NEAR_MISSES = st.text(
    alphabet=st.sampled_from(
        [
            *"0123456789abcdefABCDEF:- _;",
            *("\x00", "\x1b", "\x1d", "\x10", "\r", "\x7f"),
            *("\u0085", "\u009b", "\u200b", "\u202e", "\u2028", "é", "\ufeff", "\U0001d7d8"),
        ]
    ),
    max_size=80,
)
fuzz = settings(max_examples=300, deadline=None)

pytestmark = pytest.mark.timeout(30)


def assert_safe(value: str, rules: ScanRules = RULES) -> None:
    assert rules.min_length <= len(value) <= rules.max_length
    assert rules.allowed.fullmatch(value)
    assert not any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in value)


@fuzz
@given(st.binary(max_size=2048))
def test_any_bytes_parse_without_crashing(data: bytes) -> None:
    result = parse(data, RULES)
    if not isinstance(result, Reason):
        assert_safe(result)


@fuzz
@given(NEAR_MISSES)
def test_accepted_values_always_match_the_whitelist(text: str) -> None:
    result = parse(text.encode("utf-8", "surrogatepass"), RULES)
    if not isinstance(result, Reason):
        assert_safe(result)
        assert parse(result.encode(), RULES) == result  # normalising twice changes nothing


@fuzz
@given(NEAR_MISSES, st.text(max_size=3), st.text(max_size=3), st.text(max_size=12))
def test_a_careless_character_set_still_lets_no_control_through(
    text: str, prefix: str, suffix: str, extra: str
) -> None:
    # An installer who allows "anything but ]" must still not get control bytes through.
    rules = ScanRules.from_config(
        ScansConfig(allowed_characters="^\\]", prefix=prefix, suffix=suffix)
    )
    result = parse((text + extra).encode("utf-8", "surrogatepass"), rules)
    if not isinstance(result, Reason):
        assert_safe(result, rules)


@fuzz
@given(st.lists(st.binary(max_size=80) | NEAR_MISSES.map(str.encode), max_size=20))
def test_the_pipeline_outcomes_are_safe(frames: list[bytes]) -> None:
    pipeline = ScanPipeline(ScansConfig(), clock=lambda: 0.0)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for frame in frames:
        outcome = pipeline.process(RawScan(frame, "front", at))
        if isinstance(outcome, Rejection):
            assert len(outcome.tail) <= 4
            assert all(char.isascii() and char.isprintable() for char in outcome.tail)
        else:
            assert isinstance(outcome, Scan | Repeat)
            assert_safe(outcome.value)
    total = pipeline.accepted + pipeline.repeats + sum(pipeline.rejected.values())
    assert total == len(frames)
