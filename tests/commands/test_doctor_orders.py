"""``register-agent doctor`` on the orders backend, against the sandbox over loopback: the
personal access token (read from a systemd credentials directory) fails when missing or
refused, and when accepted is a warning that says what it can do and what to do if the
till is stolen; the rest of the API checks are v3's."""

from __future__ import annotations

from pathlib import Path

import pytest

from register_agent.commands.doctor.check import Check
from register_agent.commands.doctor.diagnosis import diagnose
from register_agent.config import load_config
from tests.conftest import Sandbox
from tests.support.agent_harness import PERSONAL_ACCESS_TOKEN
from tests.support.ops_support import TOKEN_SECRET

pytestmark = pytest.mark.timeout(30)
NAME = "personal access token"


def checks_of(tmp_path: Path, sandbox: Sandbox, token: str | None) -> dict[str, Check]:
    config = tmp_path / "config.toml"
    state = tmp_path / "state"
    state.mkdir()
    config.write_text(
        f'[api]\nversion = "orders"\nbase_url = "{sandbox.url}"\n\n'
        f'[state]\ndirectory = "{state}"\n',
        encoding="utf-8",
    )
    credentials = tmp_path / "credentials"  # what LoadCredentialEncrypted= decrypts into
    credentials.mkdir()
    (credentials / "api-key").write_text(sandbox.v3_key)
    (credentials / "loyalty-token-secret").write_text(TOKEN_SECRET)
    if token is not None:
        (credentials / "personal-access-token").write_text(token + "\n")
    checks = diagnose(lambda: load_config(config, credentials_dir=credentials))
    return {check.name: check for check in checks}


def test_an_accepted_token_is_a_warning_that_says_what_it_can_do(
    sandbox_clean: Sandbox, tmp_path: Path
) -> None:
    checks = checks_of(tmp_path, sandbox_clean, PERSONAL_ACCESS_TOKEN)

    token = checks[NAME]
    assert token.verdict == "WARN", token
    assert "whole Leat account" in token.detail
    assert "revoke the token in the Leat dashboard" in token.fix
    assert checks["API key"].verdict == "PASS"
    assert checks["loyalty-token secret"].verdict == "PASS"
    assert "attribute agent_operation_id" not in checks  # orders send no credit receptions
    lines = "\n".join(check.line() for check in checks.values())
    assert PERSONAL_ACCESS_TOKEN not in lines
    assert f"WARN  {NAME}: accepted" in lines


@pytest.mark.parametrize("given", ["missing", "a register key"])
def test_a_missing_or_refused_token_fails_with_how_to_store_it(
    given: str, sandbox_clean: Sandbox, tmp_path: Path
) -> None:
    # the sandbox refuses a register key on the client API, as the docs show the real one
    token = None if given == "missing" else sandbox_clean.v3_key
    checks = checks_of(tmp_path, sandbox_clean, token)

    check = checks[NAME]
    assert check.verdict == "FAIL", check
    assert ("not set" if token is None else "refused by the client API") in check.detail
    assert "systemd-creds encrypt --name=personal-access-token" in check.fix
    assert checks["API key"].verdict == "PASS"
    assert sandbox_clean.v3_key not in check.line()
