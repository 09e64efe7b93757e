"""Payment sync's read of the processor's event stream, against the fake processor on SQLite and PostgreSQL:
rows that look final (an ``active`` subscription, a ``succeeded`` charge) whose webhooks were never delivered,
and an ``open`` invoice voided at the processor, are healed by one pass, without ``--since`` and without waiting
out the stuck-state window; a row already current costs no re-fetch; a 429 keeps the cursor, so the next pass
still finds what the throttled one could not fetch."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

import remit.money.sync_events as sync_events
from remit.db.tables import charges, invoices, payment_sync_cursors, subscriptions
from remit.money.sync import sync_payments
from remit.processor.errors import from_answer
from remit.processor.fake import FailureKind
from remit.telemetry.metrics import REGISTRY
from tests.support.mail import MailWorld, mail_world


class CountingProcessor:
    """The runtime's processor, with every method called recorded by name."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if not callable(attribute) or name.startswith("_") or name == "joining":
            return attribute

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return await attribute(*args, **kwargs)

        return counted


@contextmanager
def counting(world: MailWorld) -> Iterator[CountingProcessor]:
    original = world.runtime.processor
    proxy = CountingProcessor(original)
    world.runtime.processor = proxy  # type: ignore[assignment]
    try:
        yield proxy
    finally:
        world.runtime.processor = original


@contextmanager
def webhooks_lost(world: MailWorld) -> Iterator[None]:
    """The endpoint is down: the fake records its events but delivers none of them."""
    delivery, world.fake.engine.delivery = world.fake.engine.delivery, None
    try:
        yield
    finally:
        world.fake.engine.delivery = delivery


async def subscription_row(world: MailWorld, subscription_id: str) -> tuple[str, bool]:
    async with world.runtime.db.connect() as conn:
        row = (
            await conn.execute(
                sa.select(subscriptions.c.status, subscriptions.c.deleted).where(
                    subscriptions.c.stripe_id == subscription_id
                )
            )
        ).one()
    return str(row.status), bool(row.deleted)


async def charge_row(world: MailWorld, charge_id: str) -> tuple[int, bool]:
    async with world.runtime.db.connect() as conn:
        row = (
            await conn.execute(
                sa.select(charges.c.amount_refunded, charges.c.refunded).where(charges.c.stripe_id == charge_id)
            )
        ).one()
    return int(row.amount_refunded), bool(row.refunded)


async def invoice_status(world: MailWorld, invoice_id: str) -> str:
    async with world.runtime.db.connect() as conn:
        query = sa.select(invoices.c.status).where(invoices.c.stripe_id == invoice_id)
        return str((await conn.execute(query)).scalar_one())


async def stored_since(world: MailWorld) -> Any:
    async with world.runtime.db.connect() as conn:
        return (await conn.execute(sa.select(payment_sync_cursors.c.since))).scalar_one_or_none()


async def active_subscription(world: MailWorld) -> tuple[str, str]:
    """A customer subscribed and paid, every webhook delivered and dispatched: (subscription id, charge id)."""
    customer = await world.customer()
    subscription = await world.subscribe(customer, await world.price(1500))
    await world.drain()
    invoice = await world.fake.retrieve_invoice(str(subscription["latest_invoice"]))
    return str(subscription["id"]), str(invoice["charge"])


async def test_final_looking_rows_whose_webhooks_were_lost_are_healed_by_one_pass(db_url: str) -> None:
    async with mail_world(db_url) as world:
        subscription_id, charge_id = await active_subscription(world)
        current_id, _ = await active_subscription(world)  # its webhooks arrived: nothing to do for it
        with webhooks_lost(world):
            await world.fake.cancel_subscription(subscription_id, idempotency_key=world.key())
            await world.fake.create_refund(charge=charge_id, idempotency_key=world.key())
        assert await subscription_row(world, subscription_id) == ("active", False)  # looks final, is stale
        assert await charge_row(world, charge_id) == (0, False)

        dry = await sync_payments(world.runtime, dry_run=True)
        assert dry.stale_by_events == 2
        assert sorted(dry.candidates) == [("charge", charge_id), ("subscription", subscription_id)]
        assert [item["reason"] for item in dry.to_json()["objects"]] == ["events", "events"]
        assert await subscription_row(world, subscription_id) == ("active", False)  # a dry run changes nothing
        assert await stored_since(world) is None  # nor moves the cursor

        with counting(world) as processor:
            done = await sync_payments(world.runtime)  # no --since, no clock moved past the stuck window
        assert (done.stale_by_events, done.applied, done.failed) == (2, 2, 0)
        assert sorted(processor.calls) == ["list_events", "retrieve_charge", "retrieve_subscription"]
        assert await subscription_row(world, subscription_id) == ("canceled", True)
        assert await charge_row(world, charge_id) == (1500, True)
        assert await subscription_row(world, current_id) == ("active", False)
        assert await stored_since(world) is not None

        # The lost webhooks arrive late: older than the synced rows, they change nothing.
        await world.fake.engine.redeliver()
        await world.drain()
        assert await subscription_row(world, subscription_id) == ("canceled", True)
        assert await charge_row(world, charge_id) == (1500, True)


async def test_rows_already_current_are_not_refetched(db_url: str) -> None:
    async with mail_world(db_url) as world:
        await active_subscription(world)
        await active_subscription(world)
        with counting(world) as processor:
            first = await sync_payments(world.runtime)
        assert (first.events_read > 0, first.stale_by_events, first.applied) == (True, 0, 0)
        assert processor.calls == ["list_events"]  # one page of events, no retrieve

        _, charge_id = await active_subscription(world)
        with webhooks_lost(world):
            await world.fake.create_refund(charge=charge_id, idempotency_key=world.key())
        await sync_payments(world.runtime)  # heals the charge
        assert await charge_row(world, charge_id) == (1500, True)
        with counting(world) as processor:
            again = await sync_payments(world.runtime)  # the same events re-read in the overlap: all current now
        assert (again.stale_by_events, again.applied) == (0, 0)
        assert processor.calls == ["list_events"]


async def test_a_throttled_pass_keeps_its_cursor_and_the_next_pass_heals(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with mail_world(db_url, REMIT_PAYMENT_SYNC_EVENTS_OVERLAP_SECONDS="0") as world:
        subscription_id, _ = await active_subscription(world)
        with webhooks_lost(world):
            await world.fake.cancel_subscription(subscription_id, idempotency_key=world.key())
        await world.fake.engine.advance_clock(3600)
        await active_subscription(world)  # newer events, delivered: a cursor moved past them would skip the cancel
        await world.fake.engine.fail_next(FailureKind.RATE_LIMITED, method="subscriptions.retrieve")
        with caplog.at_level(logging.WARNING, logger="remit.money.sync"):
            throttled = await sync_payments(world.runtime)
        assert throttled.throttled
        assert (throttled.stale_by_events, throttled.applied) == (1, 0)
        assert "payment sync throttled" in caplog.messages
        assert await stored_since(world) is None  # the first pass's window is read again
        assert await subscription_row(world, subscription_id) == ("active", False)

        done = await sync_payments(world.runtime)
        assert (done.throttled, done.stale_by_events, done.applied) == (False, 1, 1)
        assert await subscription_row(world, subscription_id) == ("canceled", True)
        since = await stored_since(world)
        assert since is not None
        assert since > world.runtime.clock.now() + timedelta(minutes=59)  # the newest event read (fake time)


async def test_a_backlog_larger_than_a_pass_is_read_downwards_over_passes(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with mail_world(db_url, REMIT_PAYMENT_SYNC_EVENT_PAGES="1") as world:
        lost, _ = await active_subscription(world)
        with webhooks_lost(world):
            await world.fake.cancel_subscription(lost, idempotency_key=world.key())
        for _ in range(3):  # newer events than the cancel, more than one small page of them
            await world.fake.engine.advance_clock(60)
            await active_subscription(world)
        monkeypatch.setattr(sync_events, "PAGE_SIZE", 5)  # one page of five events a pass
        passes = 0
        while await subscription_row(world, lost) != ("canceled", True):
            passes += 1
            assert passes <= 20, "the backlog never reached the cancel"
            await sync_payments(world.runtime)
        assert passes > 1  # the cancel lay below the first page


async def test_an_event_list_that_fails_is_logged_keeps_the_cursor_and_the_next_pass_heals(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with mail_world(db_url) as world:
        subscription_id, _ = await active_subscription(world)
        with webhooks_lost(world):
            await world.fake.cancel_subscription(subscription_id, idempotency_key=world.key())
        await world.fake.engine.fail_next(FailureKind.SERVER_ERROR, method="events.list")
        with caplog.at_level(logging.WARNING, logger="remit.money.sync"):
            done = await sync_payments(world.runtime)
        assert (done.throttled, done.event_read, done.stale_by_events, done.applied) == (False, "failed", 0, 0)
        assert "payment sync event read failed" in caplog.messages
        assert await stored_since(world) is None
        healed = await sync_payments(world.runtime)
        assert (healed.stale_by_events, healed.applied) == (1, 1)
        assert await subscription_row(world, subscription_id) == ("canceled", True)


async def test_an_invoice_voided_at_the_processor_is_healed_without_waiting_out_the_stuck_window(
    db_url: str,
) -> None:
    async with mail_world(db_url) as world:
        _, subscription_id = await world.past_due_subscription()
        invoice_id = str((await world.fake.retrieve_subscription(subscription_id))["latest_invoice"])
        with webhooks_lost(world):
            await world.fake.request("POST", f"/v1/invoices/{invoice_id}/void", idempotency_key=world.key())
        assert await invoice_status(world, invoice_id) == "open"
        done = await sync_payments(world.runtime)  # the stuck window (60 min) has not passed
        assert (done.stale_by_events, done.failed) == (1, 0)
        assert await invoice_status(world, invoice_id) == "void"


@pytest.mark.parametrize("failure", [FailureKind.SERVER_ERROR, FailureKind.EXPIRED_KEY])
async def test_a_fetch_without_an_object_keeps_the_cursor_and_the_next_pass_heals(
    db_url: str, failure: FailureKind
) -> None:
    """No answer (a 5xx) or a refused key (401/403) on a fetch says nothing of the object: once the processor
    answers, or the key is fixed, the fetch works, so an object only the event stream knew stale keeps the
    cursor."""
    async with mail_world(db_url, REMIT_PAYMENT_SYNC_EVENTS_OVERLAP_SECONDS="0") as world:
        subscription_id, _ = await active_subscription(world)
        with webhooks_lost(world):
            await world.fake.cancel_subscription(subscription_id, idempotency_key=world.key())
        await world.fake.engine.advance_clock(3600)
        await active_subscription(world)  # newer events, delivered: a cursor moved past them would skip the cancel
        await world.fake.engine.fail_next(failure, method="subscriptions.retrieve")
        failed = await sync_payments(world.runtime)
        assert (failed.event_read, failed.throttled) == ("read", False)
        assert (failed.stale_by_events, failed.applied, failed.failed) == (1, 0, 1)
        assert await stored_since(world) is None  # only the stream knew: its window is read again
        assert await subscription_row(world, subscription_id) == ("active", False)

        healed = await sync_payments(world.runtime)
        assert (healed.stale_by_events, healed.applied, healed.failed) == (1, 1, 0)
        assert await subscription_row(world, subscription_id) == ("canceled", True)


async def test_a_second_busier_than_a_pass_is_read_to_its_end_over_passes(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every event below shares one ``created`` second, and a pass reads five of them: the cursor must not step
    past that second before its last event is read, or the lost cancel below the first five is never seen."""
    async with mail_world(db_url, REMIT_PAYMENT_SYNC_EVENT_PAGES="1") as world:
        lost, _ = await active_subscription(world)
        with webhooks_lost(world):
            await world.fake.cancel_subscription(lost, idempotency_key=world.key())
        for _ in range(3):  # newer events in the same second (the fake's clock stands still), delivered
            await active_subscription(world)
        listed = await world.fake.list_events(types=sync_events.EVENT_TYPES, limit=100)
        assert len({event["created"] for event in listed["data"]}) == 1
        assert len(listed["data"]) > 10  # more than two passes of five
        monkeypatch.setattr(sync_events, "PAGE_SIZE", 5)
        passes = 0
        while await subscription_row(world, lost) != ("canceled", True):
            passes += 1
            assert passes <= 20, "the cursor stepped past the busy second before the cancel was read"
            await sync_payments(world.runtime)
        assert passes > 1  # the cancel lay below the first pass


def event_reads(outcome: str) -> float | None:
    return REGISTRY.get_sample_value("remit_payment_sync_event_reads_total", {"outcome": outcome})


async def stored_backlog(world: MailWorld) -> tuple[Any, Any]:
    async with world.runtime.db.connect() as conn:
        query = sa.select(payment_sync_cursors.c.backlog_until, payment_sync_cursors.c.backlog_after)
        return tuple((await conn.execute(query)).one())


async def test_an_event_list_the_processor_refuses_keeps_the_cursor_is_counted_and_named(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A 4xx other than 429 on the list: asking again as it is will not help, yet moving the cursor would lose
    the window's events without a trace. The cursor stays, the refusal is logged (status, code and param only),
    counted for the alert, and named in the run's answer; the stuck rows are still fetched."""
    async with mail_world(db_url) as world:
        subscription_id, _ = await active_subscription(world)
        with webhooks_lost(world):
            await world.fake.cancel_subscription(subscription_id, idempotency_key=world.key())
        before = event_reads("refused")
        assert before is not None  # exported at 0 before the first refusal, so the alert sees the first one
        await world.fake.engine.fail_next(FailureKind.EXPIRED_KEY, method="events.list")
        with caplog.at_level(logging.WARNING, logger="remit.money.sync"):
            refused = await sync_payments(world.runtime)
        assert (refused.event_read, refused.stale_by_events, refused.applied) == ("refused", 0, 0)
        answer = refused.to_json()
        assert (answer["event_read"], answer["event_error"]) == (
            "refused",
            {"status_code": 401, "code": "api_key_expired", "param": None},
        )
        [record] = [r for r in caplog.records if r.getMessage() == "payment sync event read refused"]
        assert record.levelno == logging.ERROR
        assert (record.status_code, record.code) == (401, "api_key_expired")  # type: ignore[attr-defined]
        assert event_reads("refused") == before + 1
        assert await stored_since(world) is None  # no window of events given up
        assert await subscription_row(world, subscription_id) == ("active", False)

        healed = await sync_payments(world.runtime)  # the key works again: the same window is read
        assert (healed.event_read, healed.stale_by_events, healed.applied) == ("read", 1, 1)
        assert await subscription_row(world, subscription_id) == ("canceled", True)


async def test_a_backlog_position_the_processor_no_longer_knows_is_read_again_from_its_second(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The event a backlog stopped at is gone at the processor (past its retention): its ``starting_after`` is a
    404 that no retry fixes. The cursor forgets that event and keeps its second, so the next pass re-reads the
    second from its top: nothing is skipped, and the read is not stuck on the refusal."""
    async with mail_world(db_url, REMIT_PAYMENT_SYNC_EVENT_PAGES="1") as world:
        lost, _ = await active_subscription(world)
        with webhooks_lost(world):
            await world.fake.cancel_subscription(lost, idempotency_key=world.key())
        for _ in range(3):  # newer events in the same second, delivered
            await active_subscription(world)
        monkeypatch.setattr(sync_events, "PAGE_SIZE", 5)
        await sync_payments(world.runtime)
        until, after = await stored_backlog(world)
        assert after is not None
        async with world.runtime.db.begin() as conn:
            await conn.execute(sa.update(payment_sync_cursors).values(backlog_after="evt_gone"))

        again = await sync_payments(world.runtime)
        assert (again.event_read, again.event_error) == (
            "failed",
            {"status_code": 404, "code": "resource_missing", "param": "starting_after"},
        )
        assert await stored_backlog(world) == (until, None)
        passes = 0
        while await subscription_row(world, lost) != ("canceled", True):
            passes += 1
            assert passes <= 20, "the backlog never reached the cancel"
            done = await sync_payments(world.runtime)
            assert done.event_read == "read"


class ListRefusingPosition:
    """The runtime's processor, except that a list continuing from ``position`` is answered as Stripe answers an
    event id it does not know in this account and mode (after a key for another account, or live for test): a
    400 naming ``starting_after``, not a 404."""

    def __init__(self, inner: Any, position: str) -> None:
        self.inner, self.position = inner, position

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def list_events(self, **kwargs: Any) -> Any:
        if kwargs.get("starting_after") == self.position:
            message = f"No such event: '{self.position}'; a similar object exists in test mode"
            body = {"error": {"type": "invalid_request_error", "message": message, "param": "starting_after"}}
            raise from_answer("stripe", "events.list", 400, body)
        return await self.inner.list_events(**kwargs)


async def test_a_backlog_position_refused_with_a_400_is_dropped_too_not_refused_for_ever(db_url: str) -> None:
    """Only dropping the position helps when the processor refuses the backlog's own ``starting_after``, whatever
    the 4xx: kept, it would be refused on every pass (no fix of the key or the configuration changes it, and no
    command resets it) while the window ages out at the processor."""
    async with mail_world(db_url) as world:
        subscription_id, _ = await active_subscription(world)
        with webhooks_lost(world):
            await world.fake.cancel_subscription(subscription_id, idempotency_key=world.key())
        now = world.runtime.clock.now()
        async with world.runtime.db.begin() as conn:
            backlog = sync_events.Cursor(now - timedelta(hours=1), now, now, "evt_elsewhere")
            await sync_events.save_cursor(conn, backlog, now=now)
        original = world.runtime.processor
        world.runtime.processor = ListRefusingPosition(original, "evt_elsewhere")  # type: ignore[assignment]
        try:
            dropped = await sync_payments(world.runtime)
            healed = await sync_payments(world.runtime)
        finally:
            world.runtime.processor = original
        assert (dropped.event_read, dropped.event_error) == (
            "failed",
            {"status_code": 400, "code": "invalid_request_error", "param": "starting_after"},
        )
        assert dropped.cursor == sync_events.Cursor(now - timedelta(hours=1), now, now, None)
        assert (healed.event_read, healed.stale_by_events, healed.applied) == ("read", 1, 1)
        assert await subscription_row(world, subscription_id) == ("canceled", True)
