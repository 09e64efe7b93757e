"""A price's amounts in other currencies (``currency_options``), kept and shown as Stripe shows them: only
when expanded, its own currency included; refused when Stripe would refuse them."""

from datetime import UTC, datetime

import pytest

from remit.clock import FrozenClock
from remit.errors import ProcessorError
from remit.processor.fake import CollectingDelivery, FakeEngine, FakeProcessor


@pytest.fixture
def fake(database) -> FakeProcessor:
    clock = FrozenClock(datetime(2026, 1, 10, 12, 0, tzinfo=UTC))
    return FakeProcessor(FakeEngine(database, clock, delivery=CollectingDelivery(), secret="whsec_options"))


async def a_price(fake: FakeProcessor, **extra) -> dict:
    product = await fake.request("POST", "/v1/products", {"name": "Pro"})
    params = {"product": product["id"], "unit_amount": 2000, "currency": "usd", **extra}
    return dict(await fake.request("POST", "/v1/prices", params))


async def test_currency_options_are_shown_only_when_expanded_with_the_prices_own_currency(fake):
    options = {"eur": {"unit_amount": 1800}, "uah": {"unit_amount": 5000, "tax_behavior": "inclusive"}}
    made = await a_price(fake, currency_options=options, recurring={"interval": "month"})
    assert "currency_options" not in made
    plain = await fake.request("GET", f"/v1/prices/{made['id']}")
    assert "currency_options" not in plain
    shown = await fake.request("GET", f"/v1/prices/{made['id']}", {"expand": ["currency_options"]})
    assert dict(shown["currency_options"]) == {
        "usd": {
            "custom_unit_amount": None,
            "tax_behavior": "unspecified",
            "unit_amount": 2000,
            "unit_amount_decimal": "2000",
        },
        "eur": {
            "custom_unit_amount": None,
            "tax_behavior": "unspecified",
            "unit_amount": 1800,
            "unit_amount_decimal": "1800",
        },
        "uah": {
            "custom_unit_amount": None,
            "tax_behavior": "inclusive",
            "unit_amount": 5000,
            "unit_amount_decimal": "5000",
        },
    }
    listed = await fake.request("GET", "/v1/prices", {"expand": ["data.currency_options"]})
    by_id = {price["id"]: price for price in listed["data"]}
    assert by_id[made["id"]]["currency_options"]["eur"]["unit_amount"] == 1800
    updated = await fake.request(
        "POST", f"/v1/prices/{made['id']}", {"nickname": "monthly", "expand": ["currency_options"]}
    )
    assert updated["currency_options"]["uah"]["unit_amount"] == 5000
    created = await a_price(fake, expand=["currency_options"])
    assert list(created["currency_options"]) == ["usd"]


@pytest.mark.parametrize(
    ("options", "param", "code"),
    [
        ({"usd": {"unit_amount": 100}}, "currency_options[usd]", None),
        ({"eur": {}}, "currency_options[eur][unit_amount]", "parameter_missing"),
        ({"eur": {"unit_amount": -1}}, "currency_options[eur][unit_amount]", None),
        ({"euro": {"unit_amount": 1}}, "currency_options[euro]", None),
        ({"eur": {"unit_amount": 1, "amount": 2}}, "currency_options[eur][amount]", "parameter_unknown"),
        ({"eur": {"tiers": [{"up_to": 1}]}}, "currency_options[eur][tiers]", None),
    ],
)
async def test_currency_options_stripe_refuses_are_refused(fake, options, param, code):
    product = await fake.request("POST", "/v1/products", {"name": "Pro"})
    params = {"product": product["id"], "unit_amount": 2000, "currency": "usd", "currency_options": options}
    refused = await fake.engine.call("POST", "/v1/prices", params)
    assert refused.status == 400
    assert (refused.body["error"]["param"], refused.body["error"].get("code")) == (param, code)
    assert (await fake.request("GET", "/v1/prices"))["data"] == []
    with pytest.raises(ProcessorError):
        await a_price(fake, currency_options=options)
