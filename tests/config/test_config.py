"""The configuration: layers, secrets, and the messages an installer gets for a bad file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from register_agent.config import load_config
from register_agent.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("REGISTER_AGENT_") or name == "CREDENTIALS_DIRECTORY":
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_file_values_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, '[api]\nversion = "v1"\nbase_url = "http://127.0.0.1:8720/"\n')
    config = load_config(path)
    assert config.api.version == "v1"
    assert config.api.base_url == "http://127.0.0.1:8720"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[api]\nversion = "v1"\n')
    monkeypatch.setenv("REGISTER_AGENT_API__VERSION", "v3")
    assert load_config(path).api.version == "v3"


def test_credentials_directory_supplies_the_secrets(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "api-key").write_text("key-from-systemd\n", encoding="utf-8")
    (creds / "loyalty-token-secret").write_text("token-secret", encoding="utf-8")
    config = load_config(write(tmp_path, ""), credentials_dir=creds)
    assert config.api.api_key is not None
    assert config.api.api_key.get_secret_value() == "key-from-systemd"
    assert config.api.loyalty_token_secret is not None
    assert config.api.loyalty_token_secret.get_secret_value() == "token-secret"
    assert "key-from-systemd" not in repr(config)
    assert "key-from-systemd" not in str(config.model_dump())


def test_credentials_directory_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "api-key").write_text("k1", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    config = load_config(write(tmp_path, ""))
    assert config.api.api_key is not None
    assert config.api.api_key.get_secret_value() == "k1"


def test_unknown_keys_name_section_and_field_with_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, '[api]\nversoin = "v1"\n[printr]\nkind = "network"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "api.versoin: unknown key; did you mean 'version'?" in message
    assert "printr: unknown key" in message


def test_a_section_name_is_spelt_as_the_example_spells_it(tmp_path: Path) -> None:
    path = write(tmp_path, '[api]\nversion = "v3"\n[API]\nversion = "v1"\n')
    with pytest.raises(ConfigError, match="\n  API: unknown key"):
        load_config(path)


def test_unknown_environment_variable_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTER_AGENT_API__TIMEOUT", "3")
    with pytest.raises(ConfigError, match=r"api\.timeout: unknown key"):
        load_config(write(tmp_path, ""))


def test_a_bad_value_never_echoes_the_secret(tmp_path: Path) -> None:
    path = write(tmp_path, '[api]\napi_key = ["sk_live_0123456789"]\nbase_url = "ftp://x"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "api.api_key:" in message
    assert "api.base_url: " in message
    assert "sk_live_0123456789" not in message


def test_a_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_broken_toml_says_which_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[api\n")
    with pytest.raises(ConfigError, match=r"config\.toml: not valid TOML"):
        load_config(path)


def test_a_file_not_in_utf8_is_not_valid_toml(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[receipt]\nheader = ["Caf\xe9 de Pijp"]\n')
    with pytest.raises(ConfigError, match=r"config\.toml: not valid TOML \('utf-8' codec"):
        load_config(path)


def test_the_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "register-agent.example.toml"
    config = load_config(example)
    assert config.api.version == "v3"
