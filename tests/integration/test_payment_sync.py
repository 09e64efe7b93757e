"""Payment sync against the fake processor, on SQLite and PostgreSQL: a mirror row whose webhook never arrived
is healed through the watermarked upsert; a 429 stops the run with its log line."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa

from remit.db.tables import invoices, subscriptions
from remit.money.sync import sync_payments
from remit.processor.fake import FailureKind
from tests.integration.test_dunning import past_due_subscription
from tests.support.mail import MailWorld, mail_world


async def statuses(world: MailWorld, subscription_id: str, invoice_id: str) -> tuple[str, str]:
    async with world.runtime.db.connect() as conn:
        sub = (
            await conn.execute(sa.select(subscriptions.c.status).where(subscriptions.c.stripe_id == subscription_id))
        ).scalar_one()
        inv = (await conn.execute(sa.select(invoices.c.status).where(invoices.c.stripe_id == invoice_id))).scalar_one()
    return str(sub), str(inv)


async def test_a_row_whose_webhook_was_never_delivered_is_healed(db_url: str) -> None:
    async with mail_world(db_url) as world:
        customer, subscription_id = await past_due_subscription(world)
        invoice_id = str((await world.fake.retrieve_subscription(subscription_id))["latest_invoice"])
        visa = await world.fake.attach_payment_method("pm_card_visa", customer=customer, idempotency_key=world.key())
        delivery, world.fake.engine.delivery = world.fake.engine.delivery, None  # the endpoint is down
        await world.fake.pay_invoice(invoice_id, payment_method=visa["id"], idempotency_key=world.key())
        world.fake.engine.delivery = delivery
        assert await statuses(world, subscription_id, invoice_id) == ("past_due", "open")  # stale

        early = await sync_payments(world.runtime, dry_run=True)
        assert early.candidates == []  # not stale for long enough yet
        world.runtime.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
        dry = await sync_payments(world.runtime, dry_run=True)
        assert ("subscription", subscription_id) in dry.candidates
        assert ("invoice", invoice_id) in dry.candidates
        assert await statuses(world, subscription_id, invoice_id) == ("past_due", "open")

        done = await sync_payments(world.runtime)
        assert done.applied >= 2
        assert done.failed == 0
        assert await statuses(world, subscription_id, invoice_id) == ("active", "paid")

        # The lost webhooks arrive late: older than the synced rows, they change nothing.
        await world.fake.engine.redeliver()
        await world.drain()
        assert await statuses(world, subscription_id, invoice_id) == ("active", "paid")


async def test_a_429_stops_the_run_with_its_log_line(db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    async with mail_world(db_url) as world:
        await past_due_subscription(world)
        world.runtime.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
        await world.fake.engine.fail_next(FailureKind.RATE_LIMITED, count=5)
        with caplog.at_level(logging.WARNING, logger="remit.money.sync"):
            done = await sync_payments(world.runtime)
        assert done.throttled
        assert done.applied == 0
        assert "payment sync throttled" in caplog.messages
