"""Every trigger on both databases: the right events, in order, signed, shaped like Stripe's fixtures."""

import json
from datetime import UTC, datetime

import pytest
import stripe

from remit.clock import FrozenClock
from remit.processor.fake import CollectingDelivery, FakeEngine
from remit.processor.fake.triggers import ALIASES, run_trigger, trigger_names
from tests.support.fixtures import STRIPE_FIXTURES

SECRET = "whsec_test_triggers"
ENVELOPE_KEYS = {"id", "object", "api_version", "created", "data", "livemode", "pending_webhooks", "request", "type"}
#: Trigger recipes named after what they do rather than after an event type.
NOT_EVENT_TYPES = {"subscription.payment_failed", "subscription.payment_succeeded"}


def fixture_event(event_type: str) -> dict | None:
    path = STRIPE_FIXTURES / f"stripe-ruby-mock__{event_type}.json"
    if not path.exists():
        return None
    event = json.loads(path.read_text())
    return event if event.get("api_version") == "2020-08-27" else None


@pytest.fixture
def engine(database, collected) -> FakeEngine:
    # The fake's clock sits at the wall clock, so signatures pass the package's 300 s tolerance.
    return FakeEngine(database, FrozenClock(datetime.now(UTC)), delivery=collected, secret=SECRET)


async def test_every_trigger_emits_its_event_signed_and_shaped_like_stripe(engine, collected):
    checked_shapes: set[str] = set()
    for name in trigger_names():
        collected.clear()
        result = await run_trigger(engine, name)
        assert result.deliveries, name
        assert all(d.ok for d in result.deliveries), name
        assert [e.event_type for e in collected.events] == result.event_types
        if name not in NOT_EVENT_TYPES:
            assert ALIASES.get(name, name) in result.event_types or name in result.event_types, name
        for signed in collected.events:
            stripe.WebhookSignature.verify_header(signed.payload, signed.signature, SECRET, tolerance=300)
            event = json.loads(signed.payload)
            assert event["type"] == signed.event_type
            if event["object"] == "v2.core.event":
                continue
            expected_keys = ENVELOPE_KEYS | ({"account"} if signed.event_type.startswith("account.") else set())
            assert set(event) == expected_keys, signed.event_type
            fixture = fixture_event(signed.event_type)
            if fixture is not None:
                assert set(event["data"]["object"]) == set(fixture["data"]["object"]), signed.event_type
                checked_shapes.add(signed.event_type)
    assert len(checked_shapes) >= 30


ORDERS = {
    "invoice.paid": [
        "customer.created",
        "payment_method.attached",
        "invoiceitem.created",
        "invoice.created",
        "invoice.finalized",
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "invoice.paid",
        "invoice.payment_succeeded",
    ],
    "invoice.payment_failed": [
        "customer.created",
        "payment_method.attached",
        "invoiceitem.created",
        "invoice.created",
        "invoice.finalized",
        "payment_intent.created",
        "charge.failed",
        "payment_intent.payment_failed",
        "invoice.payment_failed",
    ],
    "charge.refunded": ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded", "charge.refunded"],
    "charge.dispute.created": [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "charge.dispute.created",
        "charge.updated",
    ],
    "checkout.session.completed": [
        "product.created",
        "price.created",
        "customer.created",
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ],
    "customer.subscription.paused": [
        "customer.created",
        "product.created",
        "price.created",
        "plan.created",
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.updated",
        "customer.subscription.paused",
    ],
    "customer.deleted": ["customer.created", "customer.deleted"],
}


@pytest.mark.parametrize("name", sorted(ORDERS))
async def test_triggers_emit_events_in_stripes_order(engine, name):
    result = await run_trigger(engine, name, deliver=False)
    assert result.event_types == ORDERS[name]
    assert [event.id for event in result.events] == sorted(event.id for event in result.events)


async def test_undelivered_events_wait_for_redelivery(database):
    refusing = CollectingDelivery(status_code=503)
    engine = FakeEngine(database, FrozenClock(datetime.now(UTC)), delivery=refusing, secret=SECRET)
    result = await run_trigger(engine, "customer.updated")
    assert [d.status_code for d in result.deliveries] == [503, 503]
    assert {e.delivery_status.value for e in await engine.events()} == {"failed"}
    engine.delivery = CollectingDelivery()
    again = await engine.redeliver()
    assert [d.event_type for d in again] == ["customer.created", "customer.updated"]
    assert {e.delivery_status.value for e in await engine.events()} == {"delivered"}
    assert await engine.redeliver() == []
