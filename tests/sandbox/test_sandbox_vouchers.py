"""The sandbox's vouchers over real HTTP: shaped as the docs' Vouchers page shows them, each
call under the key the docs give it (find and redeem with the register's key, lock,
release and validate with the account's token), a lock's release key the only way to
redeem or release a locked voucher, a redeemed voucher refused for good."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from register_agent.sandbox.ledger import Ledger
from register_agent.sandbox.seed import load_seed
from register_agent.sandbox.voucher_state import VoucherBook
from tests.conftest import Sandbox
from tests.support.shapes import differences, load_example

TOKEN = "sandbox-personal-access-token"
SHOP = "b7d4e1a0-2c3f-4d5e-8f90-1a2b3c4d5e6f"
JAN = "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"
MARIE = "3c9a1b2d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
COFFEE = "VCH-COFFEE-01"
COFFEE_UUID = "5e0c1a2b-3c4d-4e5f-8a6b-7c8d9e0f1001"
FLYER_UUID = "5e0c1a2b-3c4d-4e5f-8a6b-7c8d9e0f1020"
#: the account's own attribute names and promotion fields: only their being an object counts
MAPS = ("$.data.attributes", "$.data.promotion")
NULLABLE = ("$.data.contact", "$.data.expiration_date", "$.data.redeemed_at")


@pytest.fixture
def clients(sandbox_clean: Sandbox) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """The register's client (Register API) and the account's (client API)."""
    accept = {"Accept": "application/json"}
    with (
        httpx.Client(
            base_url=f"{sandbox_clean.url}/api/v3/register",
            headers={"Authorization": f"Bearer {sandbox_clean.v3_key}", **accept},
            timeout=5,
        ) as register,
        httpx.Client(
            base_url=f"{sandbox_clean.url}/api/v3/oauth/clients",
            headers={"Authorization": f"Bearer {TOKEN}", **accept},
            timeout=5,
        ) as account,
    ):
        yield register, account


def data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def code_of(response: httpx.Response) -> int:
    assert response.status_code == 400, response.text
    code: int = response.json()["code"]
    return code


#: the registers page (refreshed in the docs' commit) shows these; the openapi file's older
#: client-API examples do not: the sandbox serves the newer shape on both
NEWER = ("redemptions_remaining", "times_redeemed", "total_redemptions_allowed")


def shape(example: str, answer: httpx.Response) -> list[str]:
    documented = load_example(f"client-api/vouchers/{example}.json")
    ignore = NEWER if example.startswith("openapi-") else ()
    return differences(documented, answer.json(), maps=MAPS, nullable=NULLABLE, ignore=ignore)


def test_find_lock_release_and_redeem_are_answered_as_the_docs_show_them(
    clients: tuple[httpx.Client, httpx.Client],
) -> None:
    register, account = clients
    assert shape("find-voucher", register.get("/vouchers/find", params={"code": COFFEE})) == []
    assert shape("openapi-find-voucher-by-code", account.get("/vouchers/find?code=" + COFFEE)) == []
    locked = account.post(f"/vouchers/{COFFEE_UUID}/lock", json={})
    assert differences(load_example("client-api/vouchers/lock-voucher.json"), locked.json()) == []
    key = data(locked)["lock"]["release_key"]
    assert data(locked)["voucher"]["status"] == "LOCKED"
    released = account.post(f"/vouchers/{COFFEE_UUID}/release", json={"release_key": key})
    documented = load_example("client-api/vouchers/release-voucher.json")
    assert (
        differences(documented, released.json(), nullable=["$.data.lock.system_release_at"]) == []
    )
    assert data(released)["voucher"]["status"] == "ACTIVE"
    redeemed = register.post("/vouchers/redeem", json={"code": COFFEE, "shop_uuid": SHOP})
    assert shape("redeem-voucher", redeemed) == []
    assert data(redeemed)["status"] == "REDEEMED"
    listed = data(register.get("/vouchers", params={"status": "REDEEMED"}))
    assert {v["code"] for v in listed} == {COFFEE, "VCH-USED-21"}


def test_each_call_takes_its_own_kind_of_key(
    sandbox_clean: Sandbox, clients: tuple[httpx.Client, httpx.Client]
) -> None:
    register, _ = clients
    base = sandbox_clean.url
    wrong_on_client = {"Authorization": f"Bearer {sandbox_clean.v3_key}"}
    lock_url = f"{base}/api/v3/oauth/clients/vouchers/{COFFEE_UUID}/lock"
    assert httpx.post(lock_url, headers=wrong_on_client, json={}).status_code == 401
    token = {"Authorization": f"Bearer {TOKEN}"}
    find_url = f"{base}/api/v3/register/vouchers/find?code={COFFEE}"
    assert httpx.get(find_url, headers=token).status_code == 401
    # the registers page's lock path has no register route in the openapi file
    register_lock = register.post(f"/vouchers/{COFFEE_UUID}/lock", json={})
    assert register_lock.status_code == 404
    assert sandbox_clean.ledger() == []


def test_a_locked_voucher_is_redeemed_only_with_its_release_key_and_only_once(
    clients: tuple[httpx.Client, httpx.Client], sandbox_clean: Sandbox
) -> None:
    register, account = clients
    key = data(account.post(f"/vouchers/{COFFEE_UUID}/lock"))["lock"]["release_key"]
    assert code_of(account.post(f"/vouchers/{COFFEE_UUID}/lock")) == 80017
    body = {"code": COFFEE, "shop_uuid": SHOP}
    assert code_of(register.post("/vouchers/redeem", json=body)) == 80017
    assert code_of(register.post("/vouchers/redeem", json={**body, "release_key": "x"})) == 80017
    assert data(register.post("/vouchers/redeem", json={**body, "release_key": key}))
    assert code_of(register.post("/vouchers/redeem", json={**body, "release_key": key})) == 80005
    released = account.post(f"/vouchers/{COFFEE_UUID}/release", json={"release_key": key})
    assert code_of(released) == 80005
    kinds = [row["kind"] for row in sandbox_clean.ledger()]
    assert kinds == ["voucher_locked", "voucher_redeemed"]


def test_a_release_sent_again_is_answered_again_and_an_unknown_key_is_refused(
    clients: tuple[httpx.Client, httpx.Client], sandbox_clean: Sandbox
) -> None:
    _, account = clients
    key = data(account.post(f"/vouchers/{COFFEE_UUID}/lock"))["lock"]["release_key"]
    first = data(account.post(f"/vouchers/{COFFEE_UUID}/release", json={"release_key": key}))
    again = data(account.post(f"/vouchers/{COFFEE_UUID}/release", json={"release_key": key}))
    assert first == again
    wrong = account.post(f"/vouchers/{COFFEE_UUID}/release", json={"release_key": "nope"})
    assert code_of(wrong) == 1003
    assert "release_key" in wrong.json()["errors"]
    assert [row["kind"] for row in sandbox_clean.ledger()] == ["voucher_locked", "voucher_released"]


@pytest.mark.parametrize(
    ("code", "refusal"),
    [("VCH-USED-21", 80005), ("VCH-OLD-22", 80006), ("VCH-OFF-23", 80012), ("VCH-SOON-24", 80014)],
)
def test_an_unusable_voucher_is_refused_with_its_documented_code(
    clients: tuple[httpx.Client, httpx.Client], code: str, refusal: int
) -> None:
    register, account = clients
    found = data(register.get("/vouchers/find", params={"code": code}))
    assert code_of(register.post("/vouchers/redeem", json={"code": code, "shop_uuid": SHOP})) == (
        refusal
    )
    assert code_of(account.post(f"/vouchers/{found['uuid']}/lock")) == refusal
    body = {"shop_uuid": SHOP}
    assert code_of(account.post(f"/vouchers/{found['uuid']}/validate", json=body)) == refusal


def test_a_flyer_voucher_needs_the_redeeming_contact_and_an_unknown_code_is_80004(
    clients: tuple[httpx.Client, httpx.Client],
) -> None:
    register, account = clients
    body = {"code": "VCH-FLYER-20", "shop_uuid": SHOP}
    refused = register.post("/vouchers/redeem", json=body)
    assert code_of(refused) == 1003
    assert "contact_uuid" in refused.json()["errors"]
    valid = account.post(f"/vouchers/{FLYER_UUID}/validate", json={**body, "contact_uuid": MARIE})
    assert data(valid)["status"] == "ACTIVE"
    redeemed = data(register.post("/vouchers/redeem", json={**body, "contact_uuid": MARIE}))
    assert redeemed["contact"]["uuid"] == MARIE
    other = {"code": "VCH-COFFEE-02", "shop_uuid": SHOP, "contact_uuid": MARIE}
    assert "contact_uuid" in register.post("/vouchers/redeem", json=other).json()["errors"]
    assert code_of(register.get("/vouchers/find", params={"code": "NO-SUCH"})) == 80004


def test_a_fault_on_the_voucher_routes_applies_as_on_the_others(
    clients: tuple[httpx.Client, httpx.Client], sandbox_clean: Sandbox
) -> None:
    _, account = clients
    sandbox_clean.set_fault(
        mode="drop_after_commit", count=1, paths=["/api/v3/oauth/clients/vouchers/"]
    )
    with pytest.raises(httpx.TransportError):
        account.post(f"/vouchers/{COFFEE_UUID}/lock")
    assert [row["kind"] for row in sandbox_clean.ledger()] == ["voucher_locked"]


def test_the_system_releases_a_lock_after_the_hour_the_docs_give_it() -> None:
    """The voucher book alone, on a clock the test moves."""
    moment = [datetime(2026, 12, 5, 10, 0, tzinfo=UTC)]
    ids = iter(range(10**6))
    seed = load_seed()
    book = VoucherBook(seed, Ledger(), lambda: f"uuid-{next(ids)}", clock=lambda: moment[0])
    held = book.by_uuid(COFFEE_UUID)
    book.lock(held, seed.registers[0], "client")
    moment[0] += timedelta(minutes=59)
    assert book.status(book.by_uuid(COFFEE_UUID)) == "LOCKED"
    moment[0] += timedelta(minutes=1)
    assert book.status(book.by_uuid(COFFEE_UUID)) == "ACTIVE"
