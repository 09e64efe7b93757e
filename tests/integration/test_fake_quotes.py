"""Quotes in the fake, as at Stripe: a draft is changed and finalized, an open quote accepted (a one-time quote
drafts its invoice, a recurring one starts its subscription) or canceled, and every other move is refused."""

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
    return FakeProcessor(FakeEngine(database, clock, delivery=collected, secret="whsec_quotes"))


async def price(fake: FakeProcessor, amount: int, *, recurring: bool, currency: str = "usd") -> str:
    product = await fake.create_product(name=f"Item {amount}", idempotency_key=f"prod-{amount}-{currency}")
    params = {"product": product["id"], "unit_amount": amount, "currency": currency}
    if recurring:
        params["recurring"] = {"interval": "month"}
    made = await fake.request("POST", "/v1/prices", params, idempotency_key=f"price-{amount}-{currency}")
    return str(made["id"])


async def refused(call) -> ProcessorError:
    with pytest.raises(ProcessorError) as caught:
        await call
    return caught.value


async def test_a_one_time_quote_is_finalized_then_accepted_into_a_draft_invoice_naming_it(fake, collected):
    setup = await price(fake, 5000, recurring=False)
    customer = await fake.create_customer(idempotency_key="cus", payment_method="pm_card_visa")
    quote = await fake.request(
        "POST",
        "/v1/quotes",
        {
            "customer": customer["id"],
            "line_items": [{"price": setup, "quantity": 3}],
            "collection_method": "send_invoice",
            "invoice_settings": {"days_until_due": 14},
        },
    )
    assert (quote["status"], quote["amount_total"], quote["number"]) == ("draft", 15000, None)
    assert quote["computed"]["recurring"] is None
    assert quote["computed"]["upfront"]["amount_total"] == 15000
    assert quote["expires_at"] == quote["created"] + 30 * DAY
    assert "line_items" not in quote
    accepting_a_draft = await refused(fake.request("POST", f"/v1/quotes/{quote['id']}/accept"))
    assert (accepting_a_draft.status_code, accepting_a_draft.code) == (400, "quote_unexpected_state")

    opened = await fake.request("POST", f"/v1/quotes/{quote['id']}/finalize")
    assert opened["status"] == "open"
    assert opened["number"].startswith("QT-")
    changing_it = await refused(fake.request("POST", f"/v1/quotes/{quote['id']}", {"description": "late"}))
    assert (changing_it.status_code, changing_it.code) == (400, "quote_unexpected_state")

    accepted = await fake.request("POST", f"/v1/quotes/{quote['id']}/accept", {"expand": ["line_items"]})
    assert accepted["status"] == "accepted"
    assert accepted["status_transitions"]["accepted_at"] is not None
    assert accepted["line_items"]["data"][0]["amount_total"] == 15000
    invoice = await fake.retrieve_invoice(accepted["invoice"])
    assert (invoice["status"], invoice["billing_reason"], invoice["quote"]) == ("draft", "quote_accept", quote["id"])
    assert (invoice["total"], invoice["collection_method"]) == (15000, "send_invoice")
    assert accepted["subscription"] is None
    assert [t for t in collected.types if t.startswith("quote.")] == [
        "quote.created",
        "quote.finalized",
        "quote.accepted",
    ]
    canceling_it = await refused(fake.request("POST", f"/v1/quotes/{quote['id']}/cancel"))
    assert (canceling_it.status_code, canceling_it.code) == (400, "quote_unexpected_state")


async def test_a_recurring_quote_starts_its_subscription_with_the_trial_it_promised(fake, collected):
    monthly = await price(fake, 2000, recurring=True)
    customer = await fake.create_customer(idempotency_key="cus", payment_method="pm_card_visa")
    quote = await fake.request(
        "POST",
        "/v1/quotes",
        {
            "customer": customer["id"],
            "line_items": [{"price": monthly, "quantity": 2}],
            "subscription_data": {"trial_period_days": 7, "metadata": {"deal": "d-1"}},
        },
    )
    assert quote["computed"]["recurring"]["amount_total"] == 4000
    assert quote["computed"]["upfront"]["amount_total"] == 0
    upfront = await fake.request("GET", f"/v1/quotes/{quote['id']}/computed_upfront_line_items")
    assert [line["amount_total"] for line in upfront["data"]] == [0]
    await fake.request("POST", f"/v1/quotes/{quote['id']}/finalize")
    accepted = await fake.request("POST", f"/v1/quotes/{quote['id']}/accept")
    sub = await fake.retrieve_subscription(accepted["subscription"])
    assert (sub["status"], sub["metadata"], sub["items"]["data"][0]["quantity"]) == ("trialing", {"deal": "d-1"}, 2)
    assert accepted["invoice"] == sub["latest_invoice"]
    assert "customer.subscription.created" in collected.types


async def test_what_stripe_refuses_of_a_quote_is_refused(fake):
    usd = await price(fake, 1000, recurring=False)
    eur = await price(fake, 900, recurring=False, currency="eur")
    monthly = await price(fake, 2000, recurring=True)
    customer = await fake.create_customer(idempotency_key="cus")
    mixed = await refused(
        fake.request("POST", "/v1/quotes", {"customer": customer["id"], "line_items": [{"price": usd}, {"price": eur}]})
    )
    assert mixed.status_code == 400
    unknown = await refused(fake.request("POST", "/v1/quotes", {"customer": "cus_nobody"}))
    assert unknown.status_code == 404
    both = await refused(
        fake.request(
            "POST", "/v1/quotes", {"customer": customer["id"], "line_items": [{"price": usd}, {"price": monthly}]}
        )
    )
    assert both.status_code == 400
    anonymous = await fake.request("POST", "/v1/quotes", {"line_items": [{"price": usd}]})
    no_customer = await refused(fake.request("POST", f"/v1/quotes/{anonymous['id']}/finalize"))
    assert no_customer.status_code == 400
    empty = await fake.request("POST", "/v1/quotes", {"customer": customer["id"]})
    no_lines = await refused(fake.request("POST", f"/v1/quotes/{empty['id']}/finalize"))
    assert no_lines.status_code == 400
    canceled = await fake.request("POST", f"/v1/quotes/{empty['id']}/cancel")
    assert canceled["status"] == "canceled"
    again = await refused(fake.request("POST", f"/v1/quotes/{empty['id']}/finalize"))
    assert (again.status_code, again.code) == (400, "quote_unexpected_state")
    expired = await fake.request(
        "POST", "/v1/quotes", {"customer": customer["id"], "line_items": [{"price": usd}], "expires_at": 1768100000}
    )
    await fake.request("POST", f"/v1/quotes/{expired['id']}/finalize")
    await fake.engine.advance_clock(2 * DAY)
    late = await refused(fake.request("POST", f"/v1/quotes/{expired['id']}/accept"))
    assert (late.status_code, late.code) == (400, "quote_unexpected_state")
