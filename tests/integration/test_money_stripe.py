"""The money work on the live adapter, on SQLite and PostgreSQL: :class:`~remit.processor.stripe.StripeProcessor`
(the official SDK) over HTTP to the served fake, whose events are delivered into remit's app — the same
outcomes as on the in-process fake, and what went over the wire checked request by request:

- the fee pass lists balance transactions through the SDK's paging, and the calls it counts (what
  ``bench/money.py`` reports as ``fee_pass_processor_calls``) are the requests the server received;
- the dunning sweeper's request reaches the processor with the idempotency key of its subscription and
  attempt, and the processor's webhook ends the case with ``dunning_exhaustion`` once;
- payment sync re-fetches a row whose webhook was never delivered and heals it, and reads the event list
  (``types[]``, ``created[gte]``, 100 a page) to find a final-looking row whose webhook was lost, and continues a
  second busier than one pass from the last event it read (``starting_after``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

import remit.money.reconcile as reconcile
import remit.money.sync_events as sync_events
from remit.db.tables import fees
from remit.money.dunning import get_case
from remit.money.policy import CaseState
from remit.money.reconcile import reconcile_fees
from remit.money.sync import sync_payments
from remit.processor.fake import AsgiDelivery, FailureKind
from remit.processor.stripe import StripeProcessor
from tests.support.fake_server import ServedFake, serve_fake
from tests.support.mail import MailWorld, mail_world
from tests.support.webhooks import SECRET

Emitted = list[tuple[str, dict[str, Any]]]

# The SDK's httpx client passes form bodies as ``data=str``, which httpx deprecates; not ours to change.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@asynccontextmanager
async def on_the_adapter(world: MailWorld) -> AsyncIterator[ServedFake]:
    """``world``'s runtime calling the processor through the Stripe adapter, over HTTP, to a served fake of the
    same world (the same database and clock) that delivers its webhooks into the world's app."""
    delivery = AsgiDelivery(world.app)
    async with serve_fake(world.runtime, delivery=delivery, clock=world.runtime.clock, secret=SECRET) as served:
        adapter = StripeProcessor("sk_test_remit", api_base=served.base, timeout=5.0)
        world.runtime.processor = adapter
        served.wire.requests.clear()
        served.wire.queries.clear()
        try:
            yield served
        finally:
            await adapter.close()


async def test_the_fee_pass_pages_through_the_sdk_and_counts_the_requests_sent(db_url: str) -> None:
    async with mail_world(db_url, REMIT_FEES_CONCURRENCY="1") as world:
        charge_ids = await world.paid_charges(3)
        world.runtime.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
        async with on_the_adapter(world) as served:
            original = reconcile.PAGE_SIZE
            reconcile.PAGE_SIZE = 2  # three charges: two pages, the second through starting_after
            try:
                done = await reconcile_fees(world.runtime)
            finally:
                reconcile.PAGE_SIZE = original
            listed = [request for request in served.wire.requests if request[1] == "/fake/v1/balance_transactions"]
            assert (done.recorded, done.calls) == (3, 2)
            assert len(listed) == done.calls == len(served.wire.requests)  # nothing else was asked

            again = await reconcile_fees(world.runtime)
            assert (again.recorded, again.unchanged) == (0, 3)
        async with world.runtime.db.connect() as conn:
            recorded = set((await conn.execute(sa.select(fees.c.subject_id))).scalars())
        assert recorded == set(charge_ids)


async def test_the_sweeper_asks_through_the_sdk_with_its_key_and_the_webhook_ends_the_case(
    db_url: str, ops_events: Emitted
) -> None:
    async with mail_world(db_url) as world:
        _, subscription_id = await world.past_due_subscription()
        await world.past_grace(subscription_id)
        invoice_id = (await world.fake.retrieve_subscription(subscription_id))["latest_invoice"]
        async with on_the_adapter(world) as served:
            await world.sweep()
            posts = [request for request in served.wire.requests if request[0] == "POST"]
        assert posts == [
            ("POST", f"/fake/v1/invoices/{invoice_id}/mark_uncollectible", f"remit-dunning:{subscription_id}:1")
        ]
        assert await world.mirrored_status(subscription_id) == "unpaid"
        async with world.runtime.db.connect() as conn:
            case = await get_case(conn, subscription_id)
        assert case is not None
        assert (case.state, case.source) == (CaseState.EXHAUSTED, "remit_sweeper")
    assert [meta["source"] for name, meta in ops_events if name == "dunning_exhaustion"] == ["remit_sweeper"]


async def test_payment_sync_heals_a_row_through_the_sdk(db_url: str) -> None:
    async with mail_world(db_url) as world:
        customer, subscription_id = await world.past_due_subscription()
        invoice_id = str((await world.fake.retrieve_subscription(subscription_id))["latest_invoice"])
        visa = await world.fake.attach_payment_method("pm_card_visa", customer=customer, idempotency_key=world.key())
        delivery, world.fake.engine.delivery = world.fake.engine.delivery, None  # the endpoint is down
        await world.fake.pay_invoice(invoice_id, payment_method=visa["id"], idempotency_key=world.key())
        world.fake.engine.delivery = delivery
        assert await world.statuses(subscription_id, invoice_id) == ("past_due", "open")
        world.runtime.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
        async with on_the_adapter(world) as served:
            done = await sync_payments(world.runtime)
            fetched = {path for method, path, _ in served.wire.requests if method == "GET"}
        assert done.failed == 0
        assert {f"/fake/v1/subscriptions/{subscription_id}", f"/fake/v1/invoices/{invoice_id}"} <= fetched
        assert await world.statuses(subscription_id, invoice_id) == ("active", "paid")


async def test_payment_sync_reads_the_event_list_through_the_sdk_and_heals_a_cancelled_subscription(
    db_url: str,
) -> None:
    async with mail_world(db_url) as world:
        customer = await world.customer()
        subscription_id = str((await world.subscribe(customer, await world.price(1500)))["id"])
        await world.drain()
        delivery, world.fake.engine.delivery = world.fake.engine.delivery, None  # the endpoint is down
        await world.fake.cancel_subscription(subscription_id, idempotency_key=world.key())
        world.fake.engine.delivery = delivery
        assert await world.mirrored_status(subscription_id) == "active"  # looks final, is stale
        async with on_the_adapter(world) as served:
            done = await sync_payments(world.runtime)  # no clock moved, no --since
            asked = [(method, path) for method, path, _ in served.wire.requests]
            listed = served.wire.queries[0]
        assert (done.stale_by_events, done.applied, done.failed) == (1, 1, 0)
        assert asked == [("GET", "/fake/v1/events"), ("GET", f"/fake/v1/subscriptions/{subscription_id}")]
        assert "types[0]=charge.captured" in listed
        assert "types[19]=customer.subscription.updated" in listed
        assert "created[gte]=" in listed
        assert "limit=100" in listed
        assert await world.mirrored_status(subscription_id) == "canceled"


async def test_payment_sync_continues_a_busy_second_through_the_sdk_from_the_last_event_read(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One second holds more events than a pass reads: the next pass asks the SDK for the same second
    (``created[lte]``) after the last event read (``starting_after``), and the cancel below is found."""
    async with mail_world(db_url, REMIT_PAYMENT_SYNC_EVENT_PAGES="1") as world:
        customer = await world.customer()
        lost = str((await world.subscribe(customer, await world.price(1500)))["id"])
        await world.drain()
        delivery, world.fake.engine.delivery = world.fake.engine.delivery, None  # the endpoint is down
        await world.fake.cancel_subscription(lost, idempotency_key=world.key())
        world.fake.engine.delivery = delivery
        for _ in range(2):  # newer events in the same second (the clock stands still), delivered
            await world.subscribe(await world.customer(), await world.price(1500))
        await world.drain()
        monkeypatch.setattr(sync_events, "PAGE_SIZE", 3)
        async with on_the_adapter(world) as served:
            first = await sync_payments(world.runtime)
            assert first.cursor is not None
            assert first.cursor.backlog_after is not None
            after = first.cursor.backlog_after
            passes = 1
            while await world.mirrored_status(lost) != "canceled":
                passes += 1
                assert passes <= 20, "the busy second was never read to the cancel"
                await sync_payments(world.runtime)
            listed = [query for query in served.wire.queries if "types[0]=" in query]
        assert passes > 1
        assert f"starting_after={after}" in listed[1]
        assert "created[lte]=" in listed[1]


async def test_payment_sync_tells_a_refused_event_list_from_a_lost_backlog_position_through_the_sdk(
    db_url: str,
) -> None:
    """The SDK's errors carry status, code and param as the fake's do: a 401 on the list is ``refused`` with the
    cursor kept; a 404 naming ``starting_after`` (the backlog's event gone) makes the backlog re-read its
    second."""
    async with mail_world(db_url) as world:
        customer = await world.customer()
        await world.subscribe(customer, await world.price(1500))
        await world.drain()
        now = world.runtime.clock.now()
        async with world.runtime.db.begin() as conn:
            await sync_events.save_cursor(
                conn, sync_events.Cursor(now - timedelta(hours=1), now, now, "evt_gone"), now=now
            )
        async with on_the_adapter(world):
            await world.fake.engine.fail_next(FailureKind.EXPIRED_KEY, method="events.list")
            refused = await sync_payments(world.runtime)
            lost = await sync_payments(world.runtime)
            read = await sync_payments(world.runtime)
        assert (refused.event_read, refused.event_error) == (
            "refused",
            {"status_code": 401, "code": "api_key_expired", "param": None},
        )
        assert (lost.event_read, lost.event_error) == (
            "failed",
            {"status_code": 404, "code": "resource_missing", "param": "starting_after"},
        )
        assert lost.cursor == sync_events.Cursor(now - timedelta(hours=1), now, now, None)
        assert (read.event_read, read.cursor) == ("read", sync_events.Cursor(now))
