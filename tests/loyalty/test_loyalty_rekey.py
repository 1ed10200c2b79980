"""A reload with a new API key: the same client sends the new key from the next call on."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from register_agent.config import ApiConfig
from register_agent.errors import CredentialsRejected
from register_agent.loyalty import make_loyalty
from tests.conftest import Sandbox

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("version", ["v1", "v3"])
async def test_a_new_key_is_used_without_a_new_client(sandbox: Sandbox, version: str) -> None:
    config = ApiConfig(version=version, base_url=sandbox.url, api_key=SecretStr("revoked-key"))
    loyalty = make_loyalty(config).service
    try:
        with pytest.raises(CredentialsRejected):
            await loyalty.register()
        loyalty.use_api_key(SecretStr(sandbox.v3_key))
        assert (await loyalty.register()).identifier == "T001"
    finally:
        await loyalty.aclose()
