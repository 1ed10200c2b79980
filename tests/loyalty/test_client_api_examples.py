"""The agent's models of Leat's client API read every documented example answer of the
Orders, Order Returns, Vouchers, Collectable Rewards, Products and Categories pages
(tests/fixtures/leat-docs/client-api/, with their source): a real API answering as
documented is never taken for a malformed answer. Unit tests of the models alone."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter

from register_agent.loyalty.orders.models import (
    Category,
    CollectableReward,
    Collection,
    Order,
    OrderResult,
    ProcessedOrder,
    ProcessedReturn,
    Product,
    Voucher,
    VoucherLock,
)
from tests.support.shapes import DOCS, load_example

#: fixture -> the model its ``data`` is read with; None: the docs show no body (a delete)
MODELS: dict[str, Any] = {
    "orders/create-and-process-order.json": ProcessedOrder,
    "orders/create-order.json": Order,
    "orders/find-order.json": Order,
    "orders/update-order.json": Order,
    "orders/process-order.json": OrderResult,
    "orders/simulate-order-result.json": OrderResult,
    "order-returns/create-and-process-order-return.json": ProcessedReturn,
    "vouchers/list-vouchers.json": list[Voucher],
    "vouchers/find-voucher.json": Voucher,
    "vouchers/create-voucher.json": Voucher,
    "vouchers/update-voucher.json": Voucher,
    "vouchers/redeem-voucher.json": Voucher,
    "vouchers/lock-voucher.json": VoucherLock,
    "vouchers/release-voucher.json": VoucherLock,
    "vouchers/openapi-find-voucher-by-code.json": Voucher,
    "vouchers/openapi-redeem-voucher-with-code.json": Voucher,
    "collectable-rewards/list-collectable-rewards.json": list[CollectableReward],
    "collectable-rewards/redeem-collectable-reward.json": Collection,
    "collectable-rewards/reverse-collectable-reward-redemption.json": Collection,
    "collectable-rewards/openapi-list-collectable-rewards.json": list[CollectableReward],
    "collectable-rewards/openapi-redeem-collectable-reward.json": Collection,
    "collectable-rewards/openapi-reverse-collectable-reward-redemption.json": Collection,
    "products/list-products.json": list[Product],
    "products/create-product.json": Product,
    "products/batch-create-products.json": list[Product],
    "products/get-product.json": Product,
    "products/find-product.json": Product,
    "products/find-or-create-product.json": Product,
    "products/update-product.json": Product,
    "products/delete-product.json": None,
    "categories/list-categories.json": list[Category],
    "categories/create-category.json": Category,
    "categories/batch-create-categories.json": list[Category],
    "categories/get-category.json": Category,
    "categories/find-category.json": Category,
    "categories/find-or-create-category.json": Category,
    "categories/update-category.json": Category,
    "categories/delete-category.json": None,
}
CLIENT_API = DOCS / "client-api"


def test_every_stored_client_api_example_has_a_model() -> None:
    stored = {str(p.relative_to(CLIENT_API)) for p in CLIENT_API.glob("*/*.json")}
    assert stored == set(MODELS)


@pytest.mark.parametrize("fixture", sorted(MODELS), ids=lambda f: f.removesuffix(".json"))
def test_the_agents_model_reads_the_client_api_example(fixture: str) -> None:
    body = load_example(f"client-api/{fixture}")
    model = MODELS[fixture]
    if model is None:
        assert body["data"] is None
        return
    assert TypeAdapter(model).validate_python(body["data"])


def test_an_order_result_names_its_points_whatever_the_case_of_its_type() -> None:
    processed = ProcessedOrder.model_validate(
        load_example("client-api/orders/create-and-process-order.json")["data"]
    )
    assert processed.result is not None
    assert processed.result.points is not None
    assert (processed.result.points.points, processed.result.points.new_balance) == (35, 2267)
    simulated = OrderResult.model_validate(
        load_example("client-api/orders/simulate-order-result.json")["data"]
    )
    assert simulated.type == "points_transaction"  # lower case on that page
    assert simulated.points is not None
    assert (simulated.points.points, simulated.points.new_balance) == (35, None)
    other = OrderResult(type="PREPAID_TRANSACTION", data={"amount_in_cents": 500})
    assert other.points is None


def test_a_processed_order_keeps_the_lines_and_products() -> None:
    processed = ProcessedOrder.model_validate(
        load_example("client-api/orders/create-and-process-order.json")["data"]
    )
    order = processed.order
    assert order.external_identifier
    assert order.total_order_amount == 3331
    assert order.payment_status == "PAID"
    first = order.line_items[0]
    assert (first.quantity, first.price, first.total_amount) == (Decimal(2), 1250, 2500)
    assert first.product is not None
    assert first.product.external_identifier == "PR-12-401"
    assert [sub.name for sub in first.sub_line_items] == ["Extra Secret Sauce"]


def test_a_processed_return_names_itself_and_its_points() -> None:
    returned = ProcessedReturn.model_validate(
        load_example("client-api/order-returns/create-and-process-order-return.json")["data"]
    )
    assert (returned.return_.uuid, returned.return_.status) == (
        "5558761f-5974-448e-ae6c-2efcf11f266c",
        "COMPLETED",
    )
    assert returned.return_.order is not None
    assert returned.result is not None
    assert returned.result.points is not None


def test_a_redeemed_voucher_says_so() -> None:
    redeemed = Voucher.model_validate(
        load_example("client-api/vouchers/redeem-voucher.json")["data"]
    )
    assert (redeemed.is_redeemed, redeemed.redemptions_remaining) == (True, 0)
    assert redeemed.attributes == {"plu": "ABC12"}  # the account's own attribute by name


def test_a_collectable_reward_names_its_reward() -> None:
    (waiting,) = TypeAdapter(list[CollectableReward]).validate_python(
        load_example("client-api/collectable-rewards/list-collectable-rewards.json")["data"]
    )
    assert waiting.has_been_collected is False
    assert waiting.expires_at is not None
    assert waiting.reward is not None
    assert (waiting.reward.title, waiting.reward.required_credits) == ("Krabby Patty", 2)


def test_a_collection_reads_both_documented_shapes() -> None:
    registers = Collection.model_validate(
        load_example("client-api/collectable-rewards/redeem-collectable-reward.json")["data"]
    )
    assert (registers.status, registers.has_been_collected) == ("COLLECTED", None)
    openapi = Collection.model_validate(
        load_example("client-api/collectable-rewards/openapi-redeem-collectable-reward.json")[
            "data"
        ]
    )
    assert (openapi.uuid, openapi.status, openapi.has_been_collected) == (
        "13ac4cc1-3522-4dfc-ae4a-a821e5090108",
        None,
        True,
    )


def test_a_product_keeps_its_categories() -> None:
    products = TypeAdapter(list[Product]).validate_python(
        load_example("client-api/products/list-products.json")["data"]
    )
    assert [(p.external_identifier, p.categories) for p in products] == [("A-12345-B", [])]


def test_a_voucher_lock_keeps_its_release_key() -> None:
    locked = VoucherLock.model_validate(
        load_example("client-api/vouchers/lock-voucher.json")["data"]
    )
    assert locked.voucher.status == "LOCKED"
    assert locked.lock.release_key == "5cc7e94a-7aa2-4f4a-8a8c-c20ab3a086ce"
    assert locked.lock.system_release_at is not None
