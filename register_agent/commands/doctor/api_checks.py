"""The doctor's checks of the Register API: the key accepted, the v3 loyalty-token secret and
the ``agent_operation_id`` attribute, the orders backend's personal access token, and the
till's clock (against the API's Date header and the journal's last write).
"""

from __future__ import annotations

from datetime import UTC, datetime

from register_agent.commands.doctor.check import Check, failed, passed
from register_agent.config import AgentConfig
from register_agent.errors import JournalError, LoyaltyApiError
from register_agent.journal.admin import journal_path, read_only
from register_agent.loyalty.checks import (
    ApiProbe,
    operation_attribute_defined,
    probe_api,
    probe_token,
)

MAX_CLOCK_SKEW_S = 120.0  # loyalty tokens carry a timestamp the server checks
EARLIEST_PLAUSIBLE = datetime(2025, 1, 1, tzinfo=UTC)  # a Pi without RTC boots in 1970


async def api_checks(config: AgentConfig) -> list[Check]:
    api = config.api
    if api.api_key is None:
        fix = "store the register's API key as the systemd credential api-key"
        return [failed("API key", "not set", fix), _clock_check(None, _journal_time(config))]
    probe = await probe_api(api)
    checks = [_key_check(probe), _clock_check(probe.server_date, _journal_time(config))]
    if api.version in ("v3", "orders"):
        checks.append(_token_secret_check(config))
    if api.version == "v3":  # orders send no credit receptions, so no attribute on them
        checks.append(await _attribute_check(config, probe))
    if api.version == "orders":
        checks.append(await _personal_token_check(config))
    return checks


#: what the token can do, said wherever the installer meets it (README, "Choosing the backend")
ACCOUNT_WIDE = (
    "it speaks for the whole Leat account, not for this register: every customer, order, "
    "voucher and reward of every shop"
)


async def _personal_token_check(config: AgentConfig) -> Check:
    name = "personal access token"
    store = (
        "create a personal access token in the Leat dashboard, encrypt it for this till "
        "(systemd-creds encrypt --name=personal-access-token - "
        "/etc/register-agent/personal-access-token.cred), load it with systemctl edit "
        "register-agent: LoadCredentialEncrypted=personal-access-token:"
        "/etc/register-agent/personal-access-token.cred, then systemctl restart register-agent"
    )
    if config.api.personal_access_token is None:
        return failed(name, "not set: the orders backend cannot send a sale's order", store)
    probe = await probe_token(config.api)
    if probe.state == "refused":
        return failed(name, f"refused by the client API ({probe.detail})", store)
    if probe.state == "unreachable":
        fix = "check the network and [api] base_url; sales wait in the outbox meanwhile"
        return failed(name, f"not checked: the client API does not answer ({probe.detail})", fix)
    fix = (
        "keep it only as the encrypted credential personal-access-token, never in a plain "
        "file; if this till is stolen or lost, revoke the token in the Leat dashboard at once"
    )
    return Check(name, "WARN", f"accepted; {ACCOUNT_WIDE}", fix)


def _key_check(probe: ApiProbe) -> Check:
    if probe.state == "accepted":
        return passed("API key", f"accepted; {probe.detail}")
    if probe.state == "refused":
        fix = (
            "create a new register API key in the Business Dashboard, store it as the "
            "credential api-key and run systemctl reload register-agent"
        )
        return failed("API key", f"refused by the Register API ({probe.detail})", fix)
    fix = "check the network, [api] base_url and any proxy; the till works offline meanwhile"
    return failed("API key", f"not checked: the Register API does not answer ({probe.detail})", fix)


def _token_secret_check(config: AgentConfig) -> Check:
    if config.api.loyalty_token_secret is not None:
        return passed("loyalty-token secret", "set")
    fix = (
        "store the account's loyalty-token secret (Business Dashboard) as the credential "
        "loyalty-token-secret; without it receipts of sales without a card get no QR code"
    )
    return failed("loyalty-token secret", "not set", fix)


async def _attribute_check(config: AgentConfig, probe: ApiProbe) -> Check:
    name = "attribute agent_operation_id"
    if probe.state != "accepted":
        return Check(name, "SKIP", "the Register API did not accept the key; not checked")
    try:
        defined = await operation_attribute_defined(config.api)
    except LoyaltyApiError as exc:
        return Check(name, "SKIP", f"the account's attributes cannot be read ({exc})")
    if defined:
        return passed(name, "defined in the account's loyalty-transaction attributes")
    fix = (
        "create the loyalty-transaction attribute agent_operation_id (type text) in the "
        "Leat Business Dashboard (Settings > Attributes > Loyalty transactions); until then "
        "the Register API refuses the agent's credit receptions"
    )
    return failed(name, "missing from the account's loyalty-transaction attributes", fix)


def _journal_time(config: AgentConfig) -> float | None:
    """The latest moment the journal has written (a clock set back lands before it)."""
    try:
        with read_only(journal_path(config.state.directory)) as db:
            latest = db.execute("SELECT MAX(updated_at) FROM operations").fetchone()[0]
    except JournalError:
        return None
    return None if latest is None else float(latest)


def _clock_check(server_date: datetime | None, journal_time: float | None) -> Check:
    """Against the API's Date header when it answers; always against a sane range and the
    journal's last write (a Pi without RTC may boot with the time of its last shutdown)."""
    name = "clock"
    now = datetime.now(UTC)
    fix = "enable time sync (timedatectl set-ntp true) or set the date; a Pi has no RTC"
    if now < EARLIEST_PLAUSIBLE:
        return failed(name, f"this till says {now:%Y-%m-%d %H:%M} UTC: implausible", fix)
    if journal_time is not None and journal_time - now.timestamp() > MAX_CLOCK_SKEW_S:
        behind = journal_time - now.timestamp()
        return failed(name, f"{behind:.0f} s behind the journal's last write: set back", fix)
    if server_date is None:
        return passed(name, f"{now:%Y-%m-%d %H:%M:%S} UTC (no server Date header to compare)")
    skew = (now - server_date).total_seconds()
    detail = f"{skew:+.0f} s against the Register API's Date header"
    if abs(skew) > MAX_CLOCK_SKEW_S:
        return failed(name, f"{detail}: loyalty tokens would be refused", fix)
    return passed(name, detail)
