"""Shipping rates and checkout shipping options in the fake, as at Stripe: the first option is selected and
paid for with the goods, an archived rate or one in another currency cannot be offered, and rates are archived,
never deleted."""

from datetime import UTC, datetime

import pytest

from remit.clock import FrozenClock
from remit.errors import ProcessorError
from remit.processor.fake import CollectingDelivery, FakeEngine, FakeProcessor


@pytest.fixture
def fake(database) -> FakeProcessor:
    clock = FrozenClock(datetime(2026, 1, 10, 12, 0, tzinfo=UTC))
    return FakeProcessor(FakeEngine(database, clock, delivery=CollectingDelivery(), secret="whsec_shipping"))


async def one_time_price(fake: FakeProcessor, amount: int = 2500) -> str:
    product = await fake.create_product(name="Mug", idempotency_key="prod")
    price = await fake.request(
        "POST", "/v1/prices", {"product": product["id"], "unit_amount": amount, "currency": "usd"}
    )
    return str(price["id"])


async def rate(fake: FakeProcessor, amount: int, currency: str = "usd") -> str:
    made = await fake.request(
        "POST",
        "/v1/shipping_rates",
        {"display_name": f"Rate {amount}", "fixed_amount": {"amount": amount, "currency": currency}},
    )
    return str(made["id"])


def session_params(price: str, options: list[dict]) -> dict:
    return {
        "mode": "payment",
        "success_url": "https://e.x/ok",
        "line_items": [{"price": price}],
        "shipping_options": options,
    }


async def test_the_first_shipping_option_is_paid_with_the_goods(fake):
    price = await one_time_price(fake)
    ground = await rate(fake, 500)
    session = await fake.request(
        "POST",
        "/v1/checkout/sessions",
        session_params(
            price,
            [
                {"shipping_rate": ground},
                {
                    "shipping_rate_data": {
                        "display_name": "Express",
                        "fixed_amount": {"amount": 1500, "currency": "usd"},
                    }
                },
            ],
        ),
    )
    assert [o["shipping_amount"] for o in session["shipping_options"]] == [500, 1500]
    assert (session["amount_subtotal"], session["amount_total"]) == (2500, 3000)
    assert session["total_details"]["amount_shipping"] == 500
    express = session["shipping_options"][1]["shipping_rate"]
    assert (await fake.request("GET", f"/v1/shipping_rates/{express}"))["display_name"] == "Express"
    done = await fake.request("POST", f"/v1/payment_pages/{session['id']}/confirm", {})
    intent = await fake.request("GET", f"/v1/payment_intents/{done['payment_intent']}")
    assert intent["amount"] == 3000


async def test_what_stripe_refuses_of_shipping_is_refused(fake):
    price = await one_time_price(fake)
    ground, euros = await rate(fake, 500), await rate(fake, 400, "eur")
    archived = await fake.request("POST", f"/v1/shipping_rates/{ground}", {"active": False})
    assert archived["active"] is False
    listed = await fake.request("GET", "/v1/shipping_rates", {"active": True})
    assert [r["id"] for r in listed["data"]] == [euros]
    cheap = await rate(fake, 100)
    refused = [
        session_params(price, [{"shipping_rate": ground}]),
        session_params(price, [{"shipping_rate": euros}]),
        session_params(price, [{"shipping_rate": cheap, "shipping_rate_data": {"display_name": "x"}}]),
        session_params(price, [{"shipping_rate": cheap}] * 6),
        session_params(price, [{"shipping_rate_data": {"display_name": "No amount"}}]),
        dict(session_params(price, [{"shipping_rate": cheap}]), mode="subscription"),
    ]
    for params in refused:
        with pytest.raises(ProcessorError) as caught:
            await fake.request("POST", "/v1/checkout/sessions", params)
        assert caught.value.status_code == 400, params
    with pytest.raises(ProcessorError) as deleting:
        await fake.request("DELETE", f"/v1/shipping_rates/{cheap}")
    assert deleting.value.status_code == 404
