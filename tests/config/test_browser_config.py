"""The browser keys of ``[local_api]`` and the counter rules of ``[till]``: off by default
(an existing till behaves as before), the counter PIN read as a systemd credential, and a
wrong value named with what to write instead."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from register_agent.config import load_config
from register_agent.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("REGISTER_AGENT_") or name == "CREDENTIALS_DIRECTORY":
            monkeypatch.delenv(name)


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_everything_is_off_by_default(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, ""))
    assert config.local_api.counter_pin is None
    assert config.local_api.cors_origins == ()
    assert config.local_api.tls_cert is None
    assert config.local_api.session_ttl_s == 43200
    assert config.till.confirm_above is None
    assert config.till.card_lock_s == 0


def test_the_counter_pin_is_a_credential(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "counter-pin").write_text("482913\n", encoding="utf-8")
    config = load_config(config_file(tmp_path, ""), credentials_dir=credentials)
    assert config.local_api.counter_pin is not None
    assert config.local_api.counter_pin.get_secret_value() == "482913"


def test_the_rules_are_read(tmp_path: Path) -> None:
    text = '[till]\nconfirm_above = "250.00"\ncard_lock_s = 60\n'
    config = load_config(config_file(tmp_path, text))
    assert config.till.confirm_above == Decimal("250.00")
    assert config.till.card_lock_s == 60


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[local_api]\ncors_origins = ["*"]', "is not an origin"),
        ('[local_api]\ncors_origins = ["https://pos.example.com/"]', "without a path"),
        ('[local_api]\ncounter_pin = "123"', "at least 6 characters"),
        ('[local_api]\ntls_cert = "/etc/cert.pem"', "set both"),
        ("[till]\ncard_lock_s = -1", "card_lock_s"),
    ],
)
def test_a_wrong_value_says_what_to_write(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named) as refused:
        load_config(config_file(tmp_path, text))
    assert "'123'" not in str(refused.value)  # a PIN, even a wrong one, is not echoed
