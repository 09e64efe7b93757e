"""What changes an invoice's amount in the fake, as at Stripe: coupons (once, repeating, forever; a
subscription's over its customer's) and the customer's balance (a credit used up at finalization)."""

from datetime import UTC, datetime

import pytest

from remit.clock import FrozenClock
from remit.errors import ProcessorError
from remit.processor.fake import CollectingDelivery, FakeEngine, FakeProcessor

DAY = 86400


@pytest.fixture
def collected() -> CollectingDelivery:
    return CollectingDelivery()


@pytest.fixture
def fake(database, collected) -> FakeProcessor:
    clock = FrozenClock(datetime(2026, 1, 10, 12, 0, tzinfo=UTC))
    return FakeProcessor(FakeEngine(database, clock, delivery=collected, secret="whsec_adjust"))


async def monthly_price(fake: FakeProcessor, amount: int = 2000) -> str:
    product = await fake.create_product(name="Pro", idempotency_key=f"prod-{amount}")
    price = await fake.create_price(product=product["id"], unit_amount=amount, idempotency_key=f"price-{amount}")
    return str(price["id"])


async def coupon(fake: FakeProcessor, key: str, **params) -> str:
    made = await fake.request("POST", "/v1/coupons", params, idempotency_key=key)
    return str(made["id"])


async def test_a_once_coupon_discounts_the_first_invoice_then_ends(fake, collected):
    price = await monthly_price(fake)
    once = await coupon(fake, "c1", amount_off=500, currency="usd", duration="once")
    customer = await fake.create_customer(idempotency_key="cus", payment_method="pm_card_visa")
    sub = await fake.create_subscription(
        customer=customer["id"], items=[{"price": price}], idempotency_key="sub", extra={"coupon": once}
    )
    first = await fake.retrieve_invoice(sub["latest_invoice"])
    assert (first["subtotal"], first["total"], first["amount_paid"]) == (2000, 1500, 1500)
    assert first["total_discount_amounts"] == [{"amount": 500, "discount": first["discount"]["id"]}]
    assert collected.types.index("customer.discount.created") < collected.types.index("invoice.created")
    assert "customer.discount.deleted" in collected.types
    assert (await fake.retrieve_subscription(sub["id"]))["discount"] is None
    await fake.engine.advance_clock(32 * DAY)
    renewal = await fake.retrieve_invoice((await fake.retrieve_subscription(sub["id"]))["latest_invoice"])
    assert (renewal["total"], renewal["total_discount_amounts"]) == (2000, [])


async def test_a_repeating_coupon_lasts_its_months_and_a_subscriptions_wins_over_its_customers(fake, collected):
    price = await monthly_price(fake)
    half = await coupon(fake, "c1", percent_off=50, duration="repeating", duration_in_months=2)
    tenth = await coupon(fake, "c2", percent_off=10, duration="forever")
    customer = await fake.create_customer(idempotency_key="cus", payment_method="pm_card_visa", extra={"coupon": tenth})
    sub = await fake.create_subscription(
        customer=customer["id"],
        items=[{"price": price}],
        idempotency_key="sub",
        extra={"discounts": [{"coupon": half}]},
    )
    totals = [(await fake.retrieve_invoice(sub["latest_invoice"]))["total"]]
    for _ in range(3):
        await fake.engine.advance_clock(31 * DAY)
        latest = (await fake.retrieve_subscription(sub["id"]))["latest_invoice"]
        totals.append((await fake.retrieve_invoice(latest))["total"])
    # Two months at half price, then the customer's 10 % (forever) applies once the subscription's has ended.
    assert totals == [1000, 1000, 1800, 1800]


async def test_coupons_refuse_what_stripe_refuses(fake):
    with pytest.raises(ProcessorError) as both:
        await coupon(fake, "bad1", percent_off=10, amount_off=100, currency="usd")
    assert both.value.status_code == 400
    with pytest.raises(ProcessorError):
        await coupon(fake, "bad2", percent_off=10, duration="repeating")
    limited = await coupon(fake, "c", percent_off=5, max_redemptions=1)
    first = await fake.create_customer(idempotency_key="a")
    await fake.update_customer(first["id"], idempotency_key="a2", extra={"coupon": limited})
    second = await fake.create_customer(idempotency_key="b")
    with pytest.raises(ProcessorError) as used_up:
        await fake.update_customer(second["id"], idempotency_key="b2", extra={"coupon": limited})
    assert used_up.value.code == "coupon_expired"
    with pytest.raises(ProcessorError) as none:
        await fake.request("DELETE", f"/v1/customers/{second['id']}/discount", idempotency_key="b3")
    assert (none.value.status_code, none.value.code) == (404, "resource_missing")


async def test_a_customer_credit_is_used_up_by_the_next_invoices(fake, collected):
    customer = await fake.create_customer(idempotency_key="cus", payment_method="pm_card_visa")
    await fake.request(
        "POST",
        f"/v1/customers/{customer['id']}/balance_transactions",
        {"amount": -2500, "currency": "usd"},
        idempotency_key="credit",
    )
    price = await monthly_price(fake)
    sub = await fake.create_subscription(customer=customer["id"], items=[{"price": price}], idempotency_key="sub")
    first = await fake.retrieve_invoice(sub["latest_invoice"])
    assert (first["starting_balance"], first["amount_due"], first["ending_balance"], first["status"]) == (
        -2000,
        0,
        -500,
        "paid",
    )
    assert (await fake.retrieve_customer(customer["id"]))["balance"] == -500
    await fake.engine.advance_clock(32 * DAY)
    renewal = await fake.retrieve_invoice((await fake.retrieve_subscription(sub["id"]))["latest_invoice"])
    assert (renewal["starting_balance"], renewal["amount_paid"]) == (-500, 1500)
    transactions = await fake.request("GET", f"/v1/customers/{customer['id']}/balance_transactions")
    assert [t["type"] for t in transactions["data"]] == ["applied_to_invoice", "applied_to_invoice", "adjustment"]
    assert (await fake.retrieve_customer(customer["id"]))["balance"] == 0
