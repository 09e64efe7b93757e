"""Plans in the fake, as at Stripe: a recurring price under its legacy name — a one-time price is no plan, a
deleted plan is gone while its price stays archived, and a plan's product hash takes only product fields."""

from datetime import UTC, datetime

import pytest

from remit.clock import FrozenClock
from remit.errors import ProcessorError
from remit.processor.fake import CollectingDelivery, FakeEngine, FakeProcessor


@pytest.fixture
def collected() -> CollectingDelivery:
    return CollectingDelivery()


@pytest.fixture
def fake(database, collected) -> FakeProcessor:
    clock = FrozenClock(datetime(2026, 1, 10, 12, 0, tzinfo=UTC))
    return FakeProcessor(FakeEngine(database, clock, delivery=collected, secret="whsec_plans"))


async def status_of(call) -> int | None:
    with pytest.raises(ProcessorError) as caught:
        await call
    return caught.value.status_code


async def test_a_plan_is_its_recurring_price_until_deleted(fake, collected):
    plan = await fake.request(
        "POST", "/v1/plans", {"amount": 900, "currency": "usd", "interval": "year", "product": {"name": "Annual"}}
    )
    assert collected.types == ["product.created", "price.created", "plan.created"]
    price = await fake.request("GET", f"/v1/prices/{plan['id']}")
    assert (price["unit_amount"], price["recurring"]["interval"]) == (900, "year")
    once = await fake.request("POST", "/v1/prices", {"product": plan["product"], "unit_amount": 5, "currency": "usd"})
    assert await status_of(fake.request("GET", f"/v1/plans/{once['id']}")) == 404
    await fake.request("DELETE", f"/v1/plans/{plan['id']}")
    assert collected.types[-2:] == ["price.updated", "plan.deleted"]
    assert await status_of(fake.request("GET", f"/v1/plans/{plan['id']}")) == 404
    assert (await fake.request("GET", f"/v1/prices/{plan['id']}"))["active"] is False
    assert (await fake.request("GET", "/v1/plans"))["data"] == []


async def test_what_stripe_refuses_of_a_plan_is_refused(fake):
    base = {"amount": 900, "currency": "usd", "interval": "month"}
    assert (
        await status_of(fake.request("POST", "/v1/plans", {**base, "product": {"name": "X", "colour": "red"}})) == 400
    )
    assert await status_of(fake.request("POST", "/v1/plans", {**base, "product": "prod_nope"})) == 404
    assert await status_of(fake.request("POST", "/v1/plans", {**base, "product": {"name": "X"}, "id": "gold"})) == 400
