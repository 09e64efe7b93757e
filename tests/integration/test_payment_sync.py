"""Payment sync against the fake processor, on SQLite and PostgreSQL: a mirror row whose webhook never arrived
is healed through the watermarked upsert; a dunning case whose confirming webhook never arrived is exhausted by
the sync's re-fetch, with ``dunning_exhaustion`` once; a 429 stops the run with its log line."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from remit.money.dunning import get_case
from remit.money.policy import CaseState
from remit.money.sync import sync_payments
from remit.money.sync_events import Cursor, save_cursor
from remit.processor.fake import FailureKind
from tests.support.mail import mail_world

Emitted = list[tuple[str, dict[str, Any]]]


async def test_a_row_whose_webhook_was_never_delivered_is_healed(db_url: str) -> None:
    async with mail_world(db_url) as world:
        customer, subscription_id = await world.past_due_subscription()
        invoice_id = str((await world.fake.retrieve_subscription(subscription_id))["latest_invoice"])
        visa = await world.fake.attach_payment_method("pm_card_visa", customer=customer, idempotency_key=world.key())
        delivery, world.fake.engine.delivery = world.fake.engine.delivery, None  # the endpoint is down
        await world.fake.pay_invoice(invoice_id, payment_method=visa["id"], idempotency_key=world.key())
        world.fake.engine.delivery = delivery
        assert await world.statuses(subscription_id, invoice_id) == ("past_due", "open")  # stale

        early = await sync_payments(world.runtime, dry_run=True)  # the event stream shows them newer at once
        assert {("subscription", subscription_id), ("invoice", invoice_id)} <= set(early.candidates)
        assert early.stale_by_events == len(early.candidates)
        world.runtime.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
        dry = await sync_payments(world.runtime, dry_run=True)
        assert ("subscription", subscription_id) in dry.candidates
        assert ("invoice", invoice_id) in dry.candidates
        assert await world.statuses(subscription_id, invoice_id) == ("past_due", "open")

        done = await sync_payments(world.runtime)
        assert done.applied >= 2
        assert done.failed == 0
        assert await world.statuses(subscription_id, invoice_id) == ("active", "paid")

        # The lost webhooks arrive late: older than the synced rows, they change nothing.
        await world.fake.engine.redeliver()
        await world.drain()
        assert await world.statuses(subscription_id, invoice_id) == ("active", "paid")


async def test_without_events_a_row_is_refetched_once_stuck_past_the_window(db_url: str) -> None:
    async with mail_world(db_url) as world:
        customer, subscription_id = await world.past_due_subscription()
        invoice_id = str((await world.fake.retrieve_subscription(subscription_id))["latest_invoice"])
        visa = await world.fake.attach_payment_method("pm_card_visa", customer=customer, idempotency_key=world.key())
        delivery, world.fake.engine.delivery = world.fake.engine.delivery, None  # the endpoint is down
        await world.fake.pay_invoice(invoice_id, payment_method=visa["id"], idempotency_key=world.key())
        world.fake.engine.delivery = delivery
        async with world.runtime.db.begin() as conn:  # the event stream already read past these events
            await save_cursor(
                conn, Cursor(world.runtime.clock.now() + timedelta(days=365)), now=world.runtime.clock.now()
            )

        early = await sync_payments(world.runtime, dry_run=True)
        assert (early.candidates, early.stale_by_events) == ([], 0)  # not stuck for long enough yet
        world.runtime.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
        dry = await sync_payments(world.runtime, dry_run=True)
        assert {("subscription", subscription_id), ("invoice", invoice_id)} <= set(dry.candidates)
        assert {item["reason"] for item in dry.to_json()["objects"]} == {"stuck"}
        done = await sync_payments(world.runtime)
        assert done.failed == 0
        assert await world.statuses(subscription_id, invoice_id) == ("active", "paid")


async def test_a_requested_case_whose_confirming_webhook_never_arrived_is_exhausted_by_the_sync(
    db_url: str, ops_events: Emitted
) -> None:
    async with mail_world(db_url) as world:
        customer, subscription_id = await world.past_due_subscription()
        await world.past_grace(subscription_id)
        jobs_fake = world.runtime.processor.engine  # type: ignore[attr-defined]
        delivery, jobs_fake.delivery = jobs_fake.delivery, None  # the endpoint is down
        await world.sweep()  # remit asks; the processor moves the subscription to unpaid; no webhook arrives
        jobs_fake.delivery = delivery
        assert (await world.fake.retrieve_subscription(subscription_id))["status"] == "unpaid"
        assert await world.mirrored_status(subscription_id) == "past_due"
        async with world.runtime.db.connect() as conn:
            assert (await get_case(conn, subscription_id)).state is CaseState.REQUESTED  # type: ignore[union-attr]
        assert not [name for name, _ in ops_events if name == "dunning_exhaustion"]

        world.runtime.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
        done = await sync_payments(world.runtime)
        assert done.failed == 0
        assert await world.mirrored_status(subscription_id) == "unpaid"
        async with world.runtime.db.connect() as conn:
            case = await get_case(conn, subscription_id)
        assert case is not None
        assert (case.state, case.source, case.confirmed_status) == (CaseState.EXHAUSTED, "remit_sweeper", "unpaid")

        # The lost webhooks arrive late, and the sync runs again: nothing is emitted twice.
        await world.fake.engine.redeliver()
        await world.drain()
        world.runtime.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
        await sync_payments(world.runtime)

    exhausted = [meta for name, meta in ops_events if name == "dunning_exhaustion"]
    assert len(exhausted) == 1
    assert {k: exhausted[0][k] for k in ("subscription_id", "customer_id", "status", "source")} == {
        "subscription_id": subscription_id,
        "customer_id": customer,
        "status": "unpaid",
        "source": "remit_sweeper",
    }
    assert str(exhausted[0]["processor_event_id"]).startswith("evt_remit_sync_")


async def test_a_429_stops_the_run_with_its_log_line(db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    async with mail_world(db_url) as world:
        await world.past_due_subscription()
        world.runtime.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
        await world.fake.engine.fail_next(FailureKind.RATE_LIMITED, count=5)
        with caplog.at_level(logging.WARNING, logger="remit.money.sync"):
            done = await sync_payments(world.runtime)
        assert done.throttled
        assert done.applied == 0
        assert "payment sync throttled" in caplog.messages
