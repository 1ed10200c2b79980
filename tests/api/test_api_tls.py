"""The local API over https (``[local_api] tls_cert`` / ``tls_key``), for a browser till on
another machine: a real agent process with a self-signed certificate made here by openssl
answers https (verified against that certificate), marks the session cookie ``Secure``, and
an unusable certificate stops the start with the installer's message."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import Sandbox
from tests.support.browser_till import browser_till


def self_signed(directory: Path) -> tuple[Path, Path]:
    key, cert = directory / "api-key.pem", directory / "api-cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


def test_the_local_api_speaks_https_with_the_configured_certificate(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path)
    tls = f'tls_cert = "{cert}"\ntls_key = "{key}"'
    with browser_till(tmp_path, sandbox, local_api=tls, scheme="https") as till:
        with till.http(verify=ssl.create_default_context(cafile=str(cert))) as client:
            assert client.get("/v1/status").status_code == 401  # https, and still guarded
            login = client.post("/v1/counter/session", json={"token": till.token})
            assert login.status_code == 200
            attributes = {p.strip().lower() for p in login.headers["set-cookie"].split(";")}
            assert "secure" in attributes
            assert client.get("/v1/status").status_code == 200
        with till.bearer() as pos, pytest.raises(httpx.ConnectError):  # verified, not trusted
            pos.get("/v1/status")
        plain = f"http://127.0.0.1:{till.port}/v1/status"
        with pytest.raises(httpx.HTTPError):
            httpx.get(plain, headers={"Authorization": f"Bearer {till.token}"}, timeout=5)
    assert "(https;" in till.output()


def test_an_unusable_certificate_stops_the_start_with_the_installers_message(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path)
    key.write_text("not a key\n", encoding="utf-8")
    tls = f'tls_cert = "{cert}"\ntls_key = "{key}"'
    refused = r"local_api\.tls_cert / tls_key: .* cannot be used"
    with (
        pytest.raises(AssertionError, match=refused),
        browser_till(tmp_path, sandbox, local_api=tls, scheme="https"),
    ):
        pass
