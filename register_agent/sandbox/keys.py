"""Who is calling the sandbox: a register by its API key on the Register API's routes, the
account by its personal access token on the client API's. Each key is refused where the
other belongs, with the 401 a wrong key gets (the docs show the two kinds of call under
the two kinds of key and nothing of what the other answers: decision, the plain 401)."""

from __future__ import annotations

import hmac

from register_agent.sandbox.params import ApiError
from register_agent.sandbox.seed import Register, Seed

#: the route tables whose calls take the account's personal access token
ACCOUNT_WIDE_VERSIONS = frozenset({"client"})
#: the register a client-API call is booked under in the ledger and the transaction list:
#: none of the seed's (id 0, identifier ACCOUNT), of the shop the call names
ACCOUNT_IDENTIFIER = "ACCOUNT"


def caller(seed: Seed, authorization: str, version: str) -> Register:
    """The register behind ``authorization`` (``Bearer KEY``); raises the API's 401."""
    scheme, _, key = authorization.partition(" ")
    key = key.strip()
    if scheme.lower() == "bearer" and key:
        if version in ACCOUNT_WIDE_VERSIONS:
            if _same(seed.personal_access_token, key):
                return account_wide(seed, seed.shops[0].id)
        else:
            for register in seed.registers:
                if _same(register.api_key, key):
                    return register
    raise ApiError(401, "Unauthenticated.", status=401)


def account_wide(seed: Seed, shop_id: int) -> Register:
    """The stand-in register of a client-API call made at ``shop_id``."""
    return Register(
        id=0,
        api_key=seed.personal_access_token,
        shop_id=shop_id,
        name="personal access token",
        identifier=ACCOUNT_IDENTIFIER,
    )


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())
