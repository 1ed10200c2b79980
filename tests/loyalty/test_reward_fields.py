"""Where the agent's v3 models find a reward's PLU, picture and a digital reward's code: in
the vendor's own example bodies (the registers pages' reward reception and rewards list,
the PHP SDK's digital reward reception), not at a top level neither has. Unit tests of the
models and their readings (``loyalty/v3/receptions.py``, ``loyalty/v3/claim_history.py``).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter

from register_agent.loyalty.v3.claim_history import claims_matching
from register_agent.loyalty.v3.models import LoyaltyTransaction, Reward, RewardReception
from register_agent.loyalty.v3.receptions import claim_of, reward_of
from tests.loyalty.test_docs_examples import PLACEHOLDER_UUID, _real_uuids
from tests.support.shapes import DOCS, load_example


def sdk_digital_reception() -> dict[str, Any]:
    body = json.loads((DOCS.parent / "piggy-php-sdk" / "digital-reward-reception.json").read_text())
    data: dict[str, Any] = _real_uuids(body)["data"]
    return data


def docs_reception(**reward_attributes: Any) -> dict[str, Any]:
    data: dict[str, Any] = _real_uuids(
        load_example("reward-receptions/create-reward-reception.json")
    )["data"]
    data["reward"].update(reward_attributes)
    return data


def test_the_sdks_digital_reception_gives_its_code_and_reward() -> None:
    claim = claim_of(RewardReception.model_validate(sdk_digital_reception()))
    assert (claim.title, claim.credits, claim.code) == ("digital reward title", -40, "kortingscode")
    assert claim.external_property is None  # the SDK's digital_reward carries no attribute


def test_the_plu_is_the_rewards_own_attribute_in_the_docs_reception() -> None:
    # the docs' example reward has attributes of its own by name ("eennaam", ...); a shop's
    # PLU attribute arrives the same way
    claim = claim_of(RewardReception.model_validate(docs_reception(external_property="PLU-9")))
    assert (claim.title, claim.external_property, claim.code) == ("Lekkerbekkie", "PLU-9", None)
    assert claim.balance == 2883


def test_a_top_level_plu_is_not_the_rewards() -> None:
    body = docs_reception()
    body["external_property"] = "PLU-TOP"  # not where the docs put a reward's attributes
    assert claim_of(RewardReception.model_validate(body)).external_property is None


def test_the_docs_reward_list_gives_each_picture() -> None:
    body = _real_uuids(load_example("rewards/list-rewards.json"))
    rewards = [reward_of(r) for r in TypeAdapter(list[Reward]).validate_python(body["data"])]
    assert rewards[0].media_url == "https://images.unsplash.com/photo-1565945887714-d5139f4eb0ce"
    assert rewards[0].kind == "digital"


def test_a_lost_digital_claim_found_in_the_list_answers_its_code_and_plu() -> None:
    entry = sdk_digital_reception()
    entry["digital_reward"]["external_property"] = "PLU-3"
    physical = copy.deepcopy(docs_reception(external_property="PLU-1"))
    entries = [LoyaltyTransaction.model_validate(e) for e in (entry, physical)]
    since = datetime(2020, 1, 1, tzinfo=UTC)
    (found,) = claims_matching(entries, PLACEHOLDER_UUID, since=since, shop=None)
    assert (found.code, found.external_property) == ("kortingscode", "PLU-3")
    other = claims_matching(entries, str(physical["reward"]["uuid"]), since=since, shop=None)
    assert [(c.title, c.external_property, c.code) for c in other] == [
        ("Lekkerbekkie", "PLU-1", None)
    ]
