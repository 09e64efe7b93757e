"""``remit demo``'s scenario, run in-process: the story it tells is the one the world ends up in."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from remit import sandbox
from remit.api.app import create_app
from remit.api.webhooks import close_writer
from remit.cli.demo import check_dead_letters
from remit.clock import FrozenClock
from remit.config import Settings
from remit.db.tables import webhook_events
from remit.processor.fake import AsgiDelivery, CollectingDelivery, FakeEngine, FakeProcessor
from remit.sandbox.scenario import UNREADABLE_SEATS, run_demo
from remit.sandbox.seats import GRANT_SEATS, SEATS_EVENT_TYPES
from remit.service import default_worker, service_runtime
from remit.telemetry import ops
from remit.webhooks.dead_letters import EventFilter
from remit.webhooks.events import EventStatus
from remit.webhooks.replay import replay_matching
from tests.support.provisioning import provisioning_rows
from tests.support.webhooks import SECRET, make_runtime, webhook_settings


async def test_demo_story(runtime):
    collected = CollectingDelivery()
    fake = FakeProcessor(FakeEngine(runtime.db, FrozenClock(datetime.now(UTC)), delivery=collected, secret="whsec_d"))
    report = await run_demo(fake, runtime)
    assert len(report.deliveries) == len(collected.events)
    assert not report.failed_deliveries
    types = collected.types
    for expected in (
        "checkout.session.completed",
        "customer.subscription.created",
        "invoice.payment_failed",
        "charge.refunded",
        "charge.dispute.created",
        "customer.subscription.updated",
    ):
        assert expected in types
    assert types.index("invoice.payment_failed") < types.index("charge.refunded")
    subscriptions = {}
    for event in collected.events:
        body = json.loads(event.payload)
        if body["data"]["object"].get("object") == "subscription":
            subscriptions[body["data"]["object"]["id"]] = body["data"]["object"]
    statuses = {sub_id: sub["status"] for sub_id, sub in subscriptions.items()}
    # every subscription is active but the one whose trial ended on a declining card: past due, in dunning
    assert statuses.pop(report.dunning_subscription_id) == "past_due"
    assert set(statuses.values()) == {"active"}
    assert any(sub["cancel_at_period_end"] for sub in subscriptions.values())
    again = await run_demo(fake, runtime)
    assert again.run_id != report.run_id
    # the demo package's product, price and plan (remit's checkout action) are made once, by the first run
    assert len(report.deliveries) - len(again.deliveries) == 3


@pytest.fixture
def sandbox_handlers() -> list[str]:
    """The sandbox host app's handlers, which ``remit up`` composes after remit's parts (``sandbox.PART``)."""
    return [handler.name for handler in sandbox.PART.event_handlers]


async def test_demo_fills_the_dead_letter_queue_with_the_unreadable_seats_only(
    db_url: str, sandbox_handlers: list[str]
) -> None:
    assert sandbox_handlers == [GRANT_SEATS]
    runtime = make_runtime(webhook_settings(db_url), extra=[sandbox.PART])
    app = create_app(runtime)
    dead_lettered: list[dict[str, Any]] = []
    remove_sink = ops.add_sink(
        lambda name, meta: dead_lettered.append(meta) if name == "webhook_dlq.dead_lettered" else None
    )
    try:
        fake = FakeProcessor(FakeEngine(runtime.db, runtime.clock, delivery=AsgiDelivery(app), secret=SECRET))
        report = await run_demo(fake, runtime)
        assert not report.failed_deliveries
        await runtime.drain()
        async with runtime.db.connect() as conn:
            rows = (await conn.execute(sa.select(webhook_events))).mappings().all()
        dead = [row for row in rows if row["status"] == EventStatus.DEAD.value]
        assert rows
        assert all(row["status"] in ("processed", "dead") for row in rows)
        seats_step = next(step for step in report.steps if "seats" in step.what)
        assert repr(UNREADABLE_SEATS) in seats_step.what
        subscription_id = seats_step.ids[1]
        assert report.dead_letter_event_ids  # created, and updated when its first invoice was paid
        assert sorted(row["event_id"] for row in dead) == sorted(report.dead_letter_event_ids)
        for row in dead:
            assert row["type"].startswith("customer.subscription.")
            assert row["object_id"] == subscription_id
            assert row["attempts"] == 1  # dead at once, not after 25 attempts
            assert row["last_error"]["handler"] == GRANT_SEATS
            assert row["last_error"]["type"] == "SeatsUnreadable"
            assert subscription_id in row["last_error"]["message"]
            assert UNREADABLE_SEATS not in row["last_error"]["message"]  # never the typed value
            assert row["handler_results"]["remit.mirror"]["ok"] is True  # mirrored all the same
        assert sorted(meta["event_id"] for meta in dead_lettered) == sorted(row["id"] for row in dead)
        # every other subscription's events went through the seat grant (no seats metadata: one seat)
        granted = [row for row in rows if row["status"] == "processed" and row["type"] in SEATS_EVENT_TYPES]
        assert granted
        assert all(row["handler_results"][GRANT_SEATS]["ok"] is True for row in granted)
        # what `remit demo` prints: this run's dead letters, found by their processor event ids
        check = await check_dead_letters(runtime, report.dead_letter_event_ids, timeout=0)
        assert check is not None
        assert sorted(check.dead) == sorted(row["id"] for row in dead)
        assert check.not_dead == []

        # the fix the demo suggests: correct the seats at the processor, then replay the dead letters
        await fake.update_subscription(subscription_id, metadata={"seats": "12"}, idempotency_key="fix-seats")
        await runtime.drain()
        replayed = await replay_matching(runtime, EventFilter(statuses=(EventStatus.DEAD,)), actor="test")
        assert replayed.replayed == len(dead)
        await runtime.drain()
        async with runtime.db.connect() as conn:
            statuses = {row.status for row in await conn.execute(sa.select(webhook_events.c.status))}
            fixed = (
                await conn.execute(
                    sa.select(webhook_events.c.handler_results).where(webhook_events.c.id == dead[0]["id"])
                )
            ).scalar_one()
        assert statuses == {"processed"}
        assert fixed[GRANT_SEATS]["ok"] is True  # the grant read the seats anew from the mirror
    finally:
        remove_sink()
        await close_writer(app)
        await runtime.close()


@pytest.mark.parametrize(("extra", "loaded"), [({}, True), ({"REMIT_JOB_MODULES": "tests.support.jobs"}, False)])
async def test_remit_ups_worker_plays_the_sandbox_host_only_without_host_modules(
    db_url: str, extra: dict[str, str], loaded: bool
) -> None:
    settings = Settings.model_validate({"DATABASE_URL": db_url, **extra})
    served = service_runtime(settings, with_worker=False)  # remit serve: never
    runtime = service_runtime(settings, with_worker=True)  # remit up: only without host modules
    try:
        assert GRANT_SEATS not in served.handlers.names()
        default_worker(runtime)
        assert (GRANT_SEATS in runtime.handlers.names()) is loaded
    finally:
        await served.close()
        await runtime.close()


async def test_the_demos_checkout_names_a_demo_package_so_its_provisioning_job_has_a_payload(db_url: str) -> None:
    """It named none, so `remit provisioning list` showed the demo's one job stuck on ``package_unresolved``; now it
    carries ``remit_package`` as remit's checkout does, and waits only for an orchestrator to be configured."""
    runtime = make_runtime(webhook_settings(db_url), extra=[sandbox.PART])
    app = create_app(runtime)
    try:
        fake = FakeProcessor(FakeEngine(runtime.db, runtime.clock, delivery=AsgiDelivery(app), secret=SECRET))
        report = await run_demo(fake, runtime)
        await runtime.drain()
        [job] = await provisioning_rows(runtime)
        checkout_step = next(step for step in report.steps if "handed to provisioning" in step.what)
        assert (job.stripe_session_id, job.account_id) == tuple(checkout_step.ids)
        assert job.origin == "remit"  # made by remit's own checkout action
        assert job.trigger_payload is not None
        assert (job.trigger_payload["package_slug"], job.trigger_payload["tokens_quota"]) == ("pro", 1_100_000)
        assert job.last_error == "trigger_not_configured"
    finally:
        await close_writer(app)
        await runtime.close()
