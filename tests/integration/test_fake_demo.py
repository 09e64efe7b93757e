"""``remit demo``'s scenario, run in-process: the story it tells is the one the world ends up in."""

import json
from datetime import UTC, datetime

from remit.clock import FrozenClock
from remit.processor.fake import CollectingDelivery, FakeEngine, FakeProcessor
from remit.processor.fake.scenario import run_demo


async def test_demo_story(database):
    collected = CollectingDelivery()
    fake = FakeProcessor(FakeEngine(database, FrozenClock(datetime.now(UTC)), delivery=collected, secret="whsec_d"))
    report = await run_demo(fake)
    assert len(report.deliveries) == len(collected.events)
    assert not report.failed_deliveries
    types = collected.types
    for expected in ("checkout.session.completed", "customer.subscription.created", "invoice.payment_failed",
                     "charge.refunded", "charge.dispute.created", "customer.subscription.updated"):
        assert expected in types
    assert types.index("invoice.payment_failed") < types.index("charge.refunded")
    subscriptions = {}
    for event in collected.events:
        body = json.loads(event.payload)
        if body["data"]["object"].get("object") == "subscription":
            subscriptions[body["data"]["object"]["id"]] = body["data"]["object"]
    statuses = sorted(sub["status"] for sub in subscriptions.values())
    assert statuses == ["active"] * len(subscriptions)
    assert any(sub["cancel_at_period_end"] for sub in subscriptions.values())
    again = await run_demo(fake)
    assert again.run_id != report.run_id
    assert len(again.deliveries) == len(report.deliveries)
