"""The agent's own models read the vendor's documented example answers
(tests/fixtures/leat-docs/): a real API answering as documented is never taken for a
malformed answer. Unit tests of the models alone.

The docs' examples use placeholder identifiers ("123", "123abc-def789-qwerty-34567") where
the API sends uuids; each placeholder in a uuid field is replaced by a uuid first, and
nothing else is changed.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import TypeAdapter

from register_agent.loyalty.models_giftcards import GiftcardTransactionV3, GiftcardV3
from register_agent.loyalty.models_profile import ContactSubscription, SubscriptionType
from register_agent.loyalty.v3.contacts import CreatedContact
from register_agent.loyalty.v3.models import (
    Contact,
    ContactIdentifier,
    CreditBalance,
    CreditReception,
    LoyaltyTransaction,
    PageMeta,
    PosTransaction,
    Reward,
    RewardReception,
    TransactionAttribute,
)
from tests.support.shapes import load_example

PLACEHOLDER_UUID = "00000000-0000-4000-8000-000000000123"

#: fixture -> the model the agent reads its ``data`` with (loyalty/v3/paths.py and friends)
MODELS: dict[str, Any] = {
    "contact-identifiers/find-contact-identifier.json": ContactIdentifier,
    "contact-identifiers/create-contact-identifier.json": ContactIdentifier,
    "contact-identifiers/link-contact-identifier.json": ContactIdentifier,
    "contact-identifiers/unlink-contact-identifier.json": ContactIdentifier,
    "contact-subscriptions/list-contact-subscriptions.json": list[ContactSubscription],
    "contact-subscriptions/subscribe-contact.json": ContactSubscription,
    "contact-subscriptions/unsubscribe-contact-to-subscription-type.json": ContactSubscription,
    "contacts/get-contact.json": Contact,
    "contacts/find-contact.json": Contact,
    "contacts/find-or-create-contact.json": Contact,
    "contacts/claim-anonymous-contact.json": Contact,
    "contacts/update-contact.json": Contact,
    "contacts/create-contact.json": CreatedContact,
    "contacts/create-anonymous-contact.json": CreatedContact,
    "contacts/get-credit-balance.json": CreditBalance,
    "contacts/list-loyalty-transactions.json": list[LoyaltyTransaction],
    "credit-receptions/create-credit-reception.json": CreditReception,
    "reward-receptions/create-reward-reception.json": RewardReception,
    "rewards/list-rewards.json": list[Reward],
    "rewards/get-reward.json": Reward,
    "loyalty-transaction-attributes/list-loyalty-transaction-attributes.json": list[
        TransactionAttribute
    ],
    "pos-transactions/create-pos-transaction.json": PosTransaction,
    "giftcards/find-giftcard-by-hash.json": GiftcardV3,
    "giftcards/create-giftcard.json": GiftcardV3,
    "giftcard-transactions/get-giftcard-transaction.json": GiftcardTransactionV3,
    "giftcard-transactions/create-giftcard-transaction.json": GiftcardTransactionV3,
    "giftcard-transactions/reverse-giftcard-transaction.json": GiftcardTransactionV3,
    "subscription-types/list-subscription-types.json": list[SubscriptionType],
}


def _real_uuids(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _real_uuids(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_real_uuids(v, key) for v in value]
    if (key == "uuid" or key.endswith("_uuid")) and isinstance(value, str):
        try:
            uuid.UUID(value)
        except ValueError:
            return PLACEHOLDER_UUID
    return value


@pytest.mark.parametrize("fixture", sorted(MODELS), ids=lambda f: f.removesuffix(".json"))
def test_the_agents_model_reads_the_docs_example(fixture: str) -> None:
    body = _real_uuids(load_example(fixture))
    parsed = TypeAdapter(MODELS[fixture]).validate_python(body["data"])
    assert parsed


def test_the_transaction_list_meta_is_read_as_paging() -> None:
    meta = PageMeta.model_validate(load_example("contacts/list-loyalty-transactions.json")["meta"])
    assert (meta.page, meta.last_page, meta.total) == (1, 6, 57)


def test_the_docs_reward_reception_names_the_whole_reward() -> None:
    body = _real_uuids(load_example("reward-receptions/create-reward-reception.json"))
    claim = RewardReception.model_validate(body["data"])
    assert claim.reward is not None
    assert claim.reward.title == "Lekkerbekkie"
    assert claim.contact is not None
    assert claim.contact.credit_balance is not None
    assert claim.contact.credit_balance.balance == 2883
