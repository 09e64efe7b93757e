"""Exactly once per business event: replays, retried jobs, a refusing server and a crash after the hand-over.

The crash is simulated where it hurts: the SMTP server has taken the message, and the commit that records
``sent`` never happens. The row stays ``sending``; the next attempt sends again (the one duplicate, with the
same Message-ID) and records ``sent``; a second crash the same way would make a third attempt fail the mail
as ``unconfirmed`` instead of sending it a third time.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from remit.clock import FrozenClock
from remit.db.tables import jobs, mail_log, webhook_events
from remit.mail import sending
from remit.mail.jobs import SEND_ATTEMPTS, send_mail
from remit.mail.log import MAX_DELIVERIES, MailState
from remit.mail.mailer import InMemoryMailer
from remit.mail.transport import use_mailer
from remit.telemetry import ops
from tests.support.mail import MailWorld, mail_outcomes, mail_world, outcomes_since
from tests.support.webhooks import client_for, event, post_event


@pytest.fixture
def ops_events() -> Any:
    seen: list[tuple[str, dict[str, Any]]] = []
    remove = ops.add_sink(lambda name, meta: seen.append((name, meta)))
    yield seen
    remove()


async def _receipts(world: MailWorld) -> list[Any]:
    async with world.runtime.db.connect() as conn:
        query = sa.select(mail_log).where(mail_log.c.kind == "receipt")
        return list((await conn.execute(query)).mappings().all())


def _later(world: MailWorld, hours: float = 2) -> None:
    clock = world.runtime.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(timedelta(hours=hours))


async def _paid_event_body(world: MailWorld, invoice_id: str) -> str:
    async with world.runtime.db.connect() as conn:
        query = sa.select(webhook_events.c.body).where(
            webhook_events.c.type == "invoice.paid", webhook_events.c.object_id == invoice_id
        )
        return str((await conn.execute(query)).scalar_one())


async def test_ten_replays_a_retried_job_and_a_refusal_send_one_receipt(db_url: str) -> None:
    before = mail_outcomes()
    async with mail_world(db_url) as world:
        world.sink.data_replies.append("451 4.3.0 try again later")  # the first hand-over is refused
        invoice_id = await world.paid_invoice()
        assert world.sink.messages == []  # refused: certainly not delivered
        [receipt] = await _receipts(world)
        assert receipt["state"] == MailState.PENDING.value
        assert receipt["deliveries"] == 0
        assert receipt["last_error"]["code"] == 451
        _later(world)
        await world.drain()
        assert len(world.sink.messages) == 1

        body = await _paid_event_body(world, invoice_id)
        invoice = json.loads(body)["data"]["object"]
        async with client_for(world.runtime) as client:
            for _ in range(10):  # the processor redelivers the same event: stored once
                assert (await post_event(client, world.runtime, body)).status_code == 200
            for _ in range(10):  # ten new events about the same payment: each dispatched, each owes the receipt
                response = await post_event(client, world.runtime, event("invoice.paid", obj=invoice))
                assert response.status_code == 200
        await world.drain()
        async with world.runtime.db.begin() as conn:  # a retried send job for the mail already sent
            await world.runtime.engine.enqueue(conn, send_mail, {"mail_id": receipt["id"]})
        await world.drain()

        assert len(world.sink.messages) == 1
        [receipt] = await _receipts(world)
        assert (receipt["state"], receipt["deliveries"]) == (MailState.SENT.value, 1)
        async with world.runtime.db.connect() as conn:
            dispatched = (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(webhook_events)
                    .where(webhook_events.c.type == "invoice.paid", webhook_events.c.status == "processed")
                )
            ).scalar_one()
            send_jobs = (
                await conn.execute(sa.select(sa.func.count()).select_from(jobs).where(jobs.c.name == "remit.mail.send"))
            ).scalar_one()
        assert dispatched == 11  # the original and the ten new ones all ran the mail handler
        assert send_jobs >= 2
    assert outcomes_since(before) == {("receipt", "sent"): 1}


async def test_a_crash_after_the_hand_over_sends_at_most_one_duplicate(
    db_url: str, monkeypatch: pytest.MonkeyPatch, ops_events: list[tuple[str, dict[str, Any]]]
) -> None:
    real = sending._record_sent
    crashes = {"left": 1}

    async def crash_before_commit(*args: Any, **kwargs: Any) -> Any:
        if crashes["left"] > 0:
            crashes["left"] -= 1
            raise ConnectionResetError("the process died before the commit")
        return await real(*args, **kwargs)

    monkeypatch.setattr(sending, "_record_sent", crash_before_commit)
    before = mail_outcomes()
    async with mail_world(db_url) as world:
        await world.paid_invoice()
        assert len(world.sink.messages) == 1  # the server has it
        [receipt] = await _receipts(world)
        assert (receipt["state"], receipt["deliveries"]) == (MailState.SENDING.value, 1)

        _later(world)
        await world.drain()  # the job's retry cannot know: it sends again, once
        [receipt] = await _receipts(world)
        assert (receipt["state"], receipt["deliveries"]) == (MailState.SENT.value, MAX_DELIVERIES)
        first, second = world.sink.parsed()
        assert first["Message-ID"] == second["Message-ID"] == receipt["message_id"]
        assert first["Subject"] == second["Subject"]
        _later(world)
        await world.drain()
        assert len(world.sink.messages) == 2  # and never again
    assert [name for name, _ in ops_events if name == "mail.failed"] == []
    assert outcomes_since(before) == {("receipt", "duplicate_window"): 1}


async def test_two_crashes_after_the_hand_over_fail_the_mail_instead_of_a_third_send(
    db_url: str, monkeypatch: pytest.MonkeyPatch, ops_events: list[tuple[str, dict[str, Any]]]
) -> None:
    async def always_crash(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionResetError("the process died before the commit")

    monkeypatch.setattr(sending, "_record_sent", always_crash)
    before = mail_outcomes()
    async with mail_world(db_url) as world:
        await world.paid_invoice()
        for _ in range(3):
            _later(world)
            await world.drain()
        assert len(world.sink.messages) == MAX_DELIVERIES  # one duplicate, no more
        [receipt] = await _receipts(world)
        assert receipt["state"] == MailState.FAILED.value
        assert receipt["last_error"]["reason"] == "unconfirmed"
        failed = [meta for name, meta in ops_events if name == "mail.failed"]
        assert failed == [
            {
                "mail_id": receipt["id"],
                "mail_kind": "receipt",
                "object_id": receipt["subject_id"],
                "customer_id": receipt["customer_id"],
                "deliveries": MAX_DELIVERIES,
                "reason": "unconfirmed",
            }
        ]
    assert outcomes_since(before) == {("receipt", "failed"): 1}


async def test_refusals_give_their_delivery_back(db_url: str) -> None:
    """A refusal the server answered proves nothing was delivered: an SMTP outage of many attempts still
    ends in one sent mail with one delivery counted."""
    async with mail_world(db_url) as world:
        world.sink.data_replies += ["451 4.3.0 busy"] * 4
        await world.paid_invoice()
        for _ in range(4):
            _later(world)
            await world.drain()
        [receipt] = await _receipts(world)
        assert (receipt["state"], receipt["deliveries"]) == (MailState.SENT.value, 1)
        assert len(world.sink.messages) == 1


async def test_an_unknown_outcome_spends_a_delivery_and_is_claimed_again(db_url: str) -> None:
    async with mail_world(db_url) as world:
        mailer = InMemoryMailer()
        use_mailer(world.runtime, mailer)
        mailer.break_next(1)  # the connection drops mid-message: delivered or not, nobody knows
        await world.paid_invoice()
        [receipt] = await _receipts(world)
        assert (receipt["state"], receipt["deliveries"]) == (MailState.SENDING.value, 1)
        assert receipt["last_error"]["type"] == "MailOutcomeUnknown"
        _later(world)
        await world.drain()
        [receipt] = await _receipts(world)
        assert (receipt["state"], receipt["deliveries"]) == (MailState.SENT.value, 2)
        assert len(mailer.sent) == 1
        assert receipt["transport"] == "memory"


async def test_a_send_job_that_gives_up_fails_its_mail_once(
    db_url: str, ops_events: list[tuple[str, dict[str, Any]]]
) -> None:
    """Every attempt refused (the server answers 451 each time): the job's last attempt discards it, and the
    discard hook fails the mail — counted once, with ``mail.failed``."""
    before = mail_outcomes()
    async with mail_world(db_url) as world:
        mailer = InMemoryMailer()
        use_mailer(world.runtime, mailer)
        mailer.refuse_next(SEND_ATTEMPTS)
        await world.paid_invoice()
        for _ in range(SEND_ATTEMPTS):
            _later(world)
            await world.drain()
        [receipt] = await _receipts(world)
        assert (receipt["state"], receipt["deliveries"]) == (MailState.FAILED.value, 0)
        assert mailer.sent == []
    assert [meta["reason"] for name, meta in ops_events if name == "mail.failed"] == ["attempts_exhausted"]
    assert outcomes_since(before) == {("receipt", "failed"): 1}
