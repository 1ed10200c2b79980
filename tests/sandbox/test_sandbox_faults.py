"""The sandbox's HTTP behaviour and fault modes, seen by a client over real loopback."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from register_agent.sandbox import start_sandbox
from tests.conftest import Sandbox
from tests.sandbox.test_sandbox_v1 import data, error

JAN = "0f8e6a7c-3b1d-4e52-9a57-2d4c1e9b7f10"
RECEPTIONS = "/api/v3/register/credit-receptions"


def credit(v3: httpx.Client, credits: int = 5) -> httpx.Response:
    return v3.post("/credit-receptions", data={"contact_uuid": JAN, "credits": str(credits)})


def balance(v3: httpx.Client) -> int:
    result: int = data(v3.get(f"/contacts/{JAN}/credit-balance"))["balance"]
    return result


@pytest.mark.parametrize("version", ["v1", "v3"])
@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": "sandbox-v3-key"}]
)
def test_missing_or_unknown_key_is_401(
    sandbox: Sandbox, version: str, headers: dict[str, str]
) -> None:
    response = sandbox.http.get(f"{sandbox.url}/api/{version}/register", headers=headers, timeout=5)
    assert response.status_code == 401
    assert response.json() == {"status_code": 401, "code": 401, "message": "Unauthenticated."}


def test_every_key_works_on_both_versions(sandbox: Sandbox) -> None:
    for key in (sandbox.v1_key, sandbox.v3_key):
        for version in ("v1", "v3"):
            url = f"{sandbox.url}/api/{version}/register"
            response = sandbox.http.get(url, headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 200


def test_unknown_route_404_and_wrong_method_405(v3: httpx.Client) -> None:
    assert v3.get("/no-such-thing").status_code == 404
    assert v3.get("/no-such-thing").json()["code"] == 404
    assert v3.delete("/credit-receptions").status_code == 405


def test_bodies_that_cannot_be_read_are_refused(v3: httpx.Client) -> None:
    error(
        v3.post(
            "/credit-receptions", content=b"{not json", headers={"Content-Type": "application/json"}
        ),
        1003,
    )
    error(
        v3.post("/credit-receptions", content=b"[1]", headers={"Content-Type": "application/json"}),
        1003,
    )
    error(v3.post("/credit-receptions", content=b"x", headers={"Content-Type": "text/plain"}), 1003)
    error(v3.request("GET", f"/contacts/{JAN}", content=b"a=1"), 1003)


def test_error_503_is_maintenance_and_applies_nothing(
    v3: httpx.Client, sandbox_clean: Sandbox
) -> None:
    sandbox_clean.set_fault(mode="error_503", count=1)
    response = credit(v3)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert sandbox_clean.ledger() == []
    assert credit(v3).status_code == 200  # the count is spent


def test_error_429_carries_retry_after(v3: httpx.Client, sandbox_clean: Sandbox) -> None:
    sandbox_clean.set_fault(mode="error_429", count=1, retry_after=7)
    response = credit(v3)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert sandbox_clean.ledger() == []


def test_error_500_and_60001_apply_nothing(v3: httpx.Client, sandbox_clean: Sandbox) -> None:
    sandbox_clean.set_fault(mode="error_500", count=1)
    assert credit(v3).status_code == 500
    sandbox_clean.set_fault(mode="in_progress_60001", count=1)
    error(credit(v3), 60001)
    assert sandbox_clean.ledger() == []
    assert balance(v3) == 150


def test_drop_after_commit_applies_then_hangs_up(v3: httpx.Client, sandbox_clean: Sandbox) -> None:
    sandbox_clean.set_fault(mode="drop_after_commit", count=1, methods=["POST"])
    with pytest.raises(httpx.RemoteProtocolError):
        credit(v3, 9)
    [row] = sandbox_clean.ledger()
    assert (row["kind"], row["credits"]) == ("credit_reception", 9)
    assert balance(v3) == 159  # the same keep-alive client carries on


def test_error_500_after_commit_applies_and_says_it_failed(
    v3: httpx.Client, sandbox_clean: Sandbox
) -> None:
    sandbox_clean.set_fault(mode="error_500_after_commit", count=1)
    assert credit(v3, 4).status_code == 500
    assert [r["credits"] for r in sandbox_clean.ledger()] == [4]
    assert balance(v3) == 154


def test_timeout_holds_the_request_past_the_client_and_applies_nothing(
    v3: httpx.Client, sandbox_clean: Sandbox
) -> None:
    # held far past the client's patience: the client gives up (ReadTimeout), the sandbox
    # has not hung up first (that would be RemoteProtocolError)
    sandbox_clean.set_fault(mode="timeout", count=1, hold_s=10)
    with pytest.raises(httpx.ReadTimeout):
        v3.post("/credit-receptions", data={"contact_uuid": JAN, "credits": "5"}, timeout=0.3)
    assert sandbox_clean.ledger() == []
    [held] = sandbox_clean.requests()
    assert held["fault"] == "timeout"


def test_latency_delays_the_answer(v3: httpx.Client, sandbox_clean: Sandbox) -> None:
    sandbox_clean.set_fault(mode="latency", latency_ms=250, count=1)
    data(v3.get(""))  # a short latency: the answer still comes, whole
    sandbox_clean.set_fault(mode="latency", latency_ms=10_000, count=1)
    with pytest.raises(httpx.ReadTimeout):  # a long one: later than the client would wait
        v3.get("", timeout=0.5)
    assert [request["fault"] for request in sandbox_clean.requests()] == ["latency", "latency"]


def test_concurrent_credit_for_one_customer_gets_60001(
    v3: httpx.Client, sandbox_clean: Sandbox
) -> None:
    sandbox_clean.set_fault(mode="latency", latency_ms=400, paths=[RECEPTIONS])
    answers: list[httpx.Response] = []

    def send() -> None:
        with httpx.Client(base_url=str(v3.base_url), headers=v3.headers, timeout=5) as client:
            answers.append(credit(client))

    first = threading.Thread(target=send)
    first.start()
    time.sleep(0.15)
    send()
    first.join(timeout=5)
    assert sorted(a.status_code for a in answers) == [200, 400]
    assert [a.json()["code"] for a in answers if a.status_code == 400] == [60001]
    assert len(sandbox_clean.ledger()) == 1


def test_counts_paths_and_methods_pick_the_requests(
    v3: httpx.Client, sandbox_clean: Sandbox
) -> None:
    sandbox_clean.set_fault(mode="error_503", count=2, paths=[RECEPTIONS], methods=["POST"])
    assert v3.get("").status_code == 200
    assert [credit(v3).status_code for _ in range(3)] == [503, 503, 200]
    assert sandbox_clean.set_fault(mode="off") == []


def test_rate_with_a_seed_is_reproducible(v3: httpx.Client, sandbox_clean: Sandbox) -> None:
    def pattern() -> list[int]:
        sandbox_clean.reset()
        sandbox_clean.set_fault(mode="error_500", rate=0.5, seed=42)
        return [v3.get("/units").status_code for _ in range(16)]

    first = pattern()
    assert first == pattern()
    assert set(first) == {200, 500}


def test_faults_never_touch_the_control_routes(v3: httpx.Client, sandbox_clean: Sandbox) -> None:
    sandbox_clean.set_fault(mode="error_503")
    assert sandbox_clean.ledger() == []
    assert v3.get("").status_code == 503
    listed = sandbox_clean.http.get(f"{sandbox_clean.url}/_sandbox/faults", timeout=5).json()[
        "data"
    ]
    assert [f["mode"] for f in listed] == ["error_503"]


def test_bad_fault_specs_are_refused(sandbox: Sandbox) -> None:
    specs = [
        {"mode": "explode"},
        {"mode": "error_503", "rate": 2},
        {"mode": "latency", "nope": 1},
        {"mode": "error_503", "paths": ["("]},
    ]
    for spec in specs:
        response = sandbox.http.post(f"{sandbox.url}/_sandbox/faults", json=spec, timeout=5)
        assert response.status_code == 400, spec
        assert response.json()["code"] == 1003


def test_control_routes_help_and_unknown(sandbox: Sandbox) -> None:
    help_text = sandbox.http.get(f"{sandbox.url}/_sandbox/", timeout=5).text
    assert "drop_after_commit" in help_text
    assert "Decisions" in help_text
    assert sandbox.http.get(f"{sandbox.url}/_sandbox/nope", timeout=5).status_code == 404


def test_reset_restores_the_seed_but_never_reuses_a_uuid(
    v3: httpx.Client, sandbox_clean: Sandbox
) -> None:
    before = data(credit(v3, 50))["uuid"]
    sandbox_clean.reset()
    assert balance(v3) == 150
    assert sandbox_clean.ledger() == []
    assert data(credit(v3, 50))["uuid"] != before


def test_stop_does_not_wait_for_held_requests() -> None:
    handle = start_sandbox()
    httpx.post(f"{handle.url}/_sandbox/faults", json={"mode": "timeout", "hold_s": 3600}, timeout=5)
    outcome: list[BaseException] = []

    def held() -> None:
        try:
            httpx.get(
                f"{handle.url}/api/v3/register",
                headers={"Authorization": "Bearer sandbox-v3-key"},
                timeout=10,
            )
        except httpx.HTTPError as exc:
            outcome.append(exc)

    client = threading.Thread(target=held)
    client.start()
    deadline = time.monotonic() + 30  # a poll's bound, generous for a busy machine
    while not httpx.get(f"{handle.url}/_sandbox/requests", timeout=5).json()["data"]:
        assert time.monotonic() < deadline, "the request never reached the sandbox"
        time.sleep(0.05)
    # held for an hour: a stop that waited for it would not end within the test's bound
    stopping = threading.Thread(target=handle.stop)
    stopping.start()
    stopping.join(timeout=30)
    assert not stopping.is_alive(), "stop waited for the held request"
    client.join(timeout=30)
    assert not client.is_alive(), "the held request was never cut"
    assert isinstance(outcome[0], httpx.RemoteProtocolError)


def test_the_request_log_names_each_api_request_and_its_fault(
    v3: httpx.Client, sandbox_clean: Sandbox
) -> None:
    sandbox_clean.set_fault(mode="error_503", count=1)
    before = time.time()
    assert credit(v3).status_code == 503
    assert credit(v3).status_code == 200
    sandbox_clean.ledger()  # control routes are not API requests
    first, second = sandbox_clean.requests()
    assert (first["method"], first["path"], first["fault"]) == (
        "POST",
        "/api/v3/register/credit-receptions",
        "error_503",
    )
    assert second["fault"] is None
    assert before <= first["at"] <= second["at"] <= time.time()
    sandbox_clean.reset()
    assert sandbox_clean.requests() == []
