"""The sandbox seed: the packaged default loads, and a broken seed names the broken entry."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from register_agent.errors import ConfigError
from register_agent.sandbox import default_seed_path, load_seed, start_sandbox


def test_default_seed_has_what_the_tests_and_demo_rely_on() -> None:
    seed = load_seed()
    assert {r.api_key for r in seed.registers} == {"sandbox-v3-key", "sandbox-v1-key"}
    assert seed.shops[0].credits_per_unit == Decimal(1)
    assert len(seed.members) >= 3
    assert {c.status for c in seed.cards} == {"ACTIVE", "INACTIVE", "DISABLED"}
    assert any(c.member_id is None for c in seed.cards)
    assert {r.type for r in seed.rewards} == {"physical", "digital", "external"}
    assert any(r.stock == 1 for r in seed.rewards)
    assert "agent_operation_id" in seed.loyalty_transaction_attributes
    assert seed.loyalty_token_secret


def broken(tmp_path: Path, old: str, new: str) -> Path:
    text = default_seed_path().read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "seed.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('hash = "C3D4E5F6"', 'hash = "C3D4E5F6"\ncolour = "red"', "cards[2].colour: Extra inputs"),
        ("member_id = 7733", "member_id = 1", "cards[2].member_id: no member with id 1"),
        ('status = "INACTIVE"', 'status = "LOST"', "cards[5].status"),
        ("credits = 20", 'credits = "twenty"', "members[1].credits"),
        ('hash = "B2C3D4E5"', 'hash = "A1B2C3D4"', "cards: hash 'A1B2C3D4' appears 2 times"),
        ('shop_id = 44\nname = "Till 2"', 'shop_id = 45\nname = "Till 2"', "registers[1].shop_id"),
        ("[[shops]]", "[[shops]", "not valid TOML"),
    ],
)
def test_broken_seed_names_the_entry(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_seed(broken(tmp_path, old, new))


def test_missing_seed_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_seed(tmp_path / "absent.toml")


def test_a_busy_port_is_a_clear_error() -> None:
    first = start_sandbox()
    try:
        port = int(first.url.rsplit(":", 1)[1])
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            start_sandbox(port=port)
    finally:
        first.stop()
