"""The local API's token: the configured one, else one generated once, kept private in the
state directory, reused on the next start, and never written to the log."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from register_agent.api import TOKEN_FILE, local_api_token
from register_agent.config import LocalApiConfig
from register_agent.errors import ConfigError


def test_a_token_is_generated_once_private_and_reused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    with caplog.at_level(logging.INFO):
        first = local_api_token(LocalApiConfig(), state)
        again = local_api_token(LocalApiConfig(), state)
    path = state / TOKEN_FILE
    assert len(first) >= 40
    assert again == first
    assert path.read_text().strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not (state / f"{TOKEN_FILE}.partial").exists()
    assert first not in caplog.text
    assert str(path) in caplog.text


def test_the_configured_token_wins_and_no_file_is_made(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = LocalApiConfig(token=SecretStr("short-token"))
    with caplog.at_level(logging.INFO):
        assert local_api_token(config, tmp_path) == "short-token"
    assert not (tmp_path / TOKEN_FILE).exists()
    assert "shorter than 16" in caplog.text
    assert "short-token" not in caplog.text


def test_a_token_file_others_could_read_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / TOKEN_FILE
    path.write_text("kept-by-the-installer-0123456789\n")
    path.chmod(0o644)
    assert local_api_token(LocalApiConfig(), tmp_path) == "kept-by-the-installer-0123456789"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_empty_token_file_gets_a_new_token(tmp_path: Path) -> None:
    (tmp_path / TOKEN_FILE).write_text("\n")
    token = local_api_token(LocalApiConfig(), tmp_path)
    assert token
    assert (tmp_path / TOKEN_FILE).read_text().strip() == token


def test_a_state_directory_the_agent_cannot_write_is_a_clear_error(tmp_path: Path) -> None:
    blocked = tmp_path / "file-not-directory"
    blocked.write_text("")
    with pytest.raises(ConfigError, match="cannot store the local API token"):
        local_api_token(LocalApiConfig(), blocked)
