"""Every kind of mail, driven by the fake processor's own events (and the card notice by the mail API)."""

from __future__ import annotations

from email.message import EmailMessage

import sqlalchemy as sa

from remit.db.tables import customers, jobs, mail_log, payment_methods
from remit.mail import MailKind, MailRequest, request_mail
from tests.support.mail import OPERATOR, PLANTED_EMAIL, MailWorld, mail_outcomes, mail_world, outcomes_since


def _by_message_id(world: MailWorld) -> dict[str, EmailMessage]:
    return {str(message["Message-ID"]): message for message in world.sink.parsed()}


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


async def test_each_business_event_sends_its_mail_to_its_audience(db_url: str) -> None:
    async with mail_world(db_url) as world:
        fake = world.fake
        price = await world.price(1500, nickname="starter-monthly")
        failing = await world.customer("pm_card_chargeCustomerFail")
        await world.subscribe(failing, price)  # first payment declined: invoice.payment_failed
        secure = await world.customer("pm_card_threeDSecure2Required")
        await world.subscribe(secure, price)  # 3-D Secure: invoice.payment_action_required
        trial = await world.customer()
        await world.subscribe(trial, price, trial_period_days=1)  # trial_will_end at once; a 0.00 invoice, no receipt
        payer = await world.customer()
        subscription = await world.subscribe(payer, price)
        await fake.cancel_subscription(subscription["id"], idempotency_key=world.key())
        invoice = await fake.retrieve_invoice(subscription["latest_invoice"])
        await fake.create_refund(charge=invoice["charge"], amount=500, idempotency_key=world.key())
        await fake.request(
            "POST",
            "/v1/payment_intents",
            {
                "amount": 2000,
                "currency": "usd",
                "customer": payer,
                "payment_method": "pm_card_createDisputeInquiry",
                "payment_method_types": ["card"],
                "confirm": True,
            },
            idempotency_key=world.key(),
        )
        await world.drain()
        async with world.runtime.db.begin() as conn:
            query = sa.select(payment_methods.c.data).where(payment_methods.c.customer_id == payer)
            payment_method = (await conn.execute(query)).scalar_one()
            request = MailRequest(
                MailKind.CARD_EXPIRING, payment_method["id"], "7", customer_id=payer, params={"days": 7}
            )
            assert await request_mail(conn, request) is not None
            assert await request_mail(conn, request) is None  # owed once
        await world.drain()

        async with world.runtime.db.connect() as conn:
            rows = {row["kind"]: row for row in (await conn.execute(sa.select(mail_log))).mappings()}
        assert set(rows) == {kind.value for kind in MailKind}
        assert {row["state"] for row in rows.values()} == {"sent"}
        messages = _by_message_id(world)
        assert len(messages) == len(MailKind)
        mail = {kind: messages[rows[kind]["message_id"]] for kind in rows}
        for kind, message in mail.items():
            expected = OPERATOR if kind == "dispute_opened" else PLANTED_EMAIL
            assert message["To"] == expected, kind
            assert _html(message).lstrip().startswith("<!DOCTYPE html>"), kind

        assert rows["payment_failed"]["key"].endswith(":1")
        assert "15.00 USD" in _text(mail["payment_failed"])
        assert "attempt 1" in _text(mail["payment_failed"])
        assert "3-D Secure" in _text(mail["action_required"])
        assert "https://" in _text(mail["action_required"])  # the hosted invoice page, to confirm there
        assert "starter-monthly" in _text(mail["trial_ending"])
        assert "Your trial ends on" in str(mail["trial_ending"]["Subject"])
        assert "starter-monthly" in _text(mail["subscription_cancelled"])
        assert rows["refund_issued"]["key"] == f"refund_issued:{invoice['charge']}:500"
        assert "5.00 USD" in str(mail["refund_issued"]["Subject"])
        dispute = _text(mail["dispute_opened"])
        assert rows["dispute_opened"]["subject_id"] in dispute
        assert "20.00 USD" in dispute
        assert PLANTED_EMAIL not in str(mail["dispute_opened"])
        assert "Hello" not in dispute  # to the operator: no greeting of a customer
        assert payment_method["card"]["last4"] in str(mail["card_expiring"]["Subject"])
        assert "in 7 days" in _text(mail["card_expiring"])


async def test_a_customer_without_an_address_is_skipped_and_the_dispute_without_an_operator_too(
    db_url: str,
) -> None:
    before = mail_outcomes()
    async with mail_world(db_url, REMIT_MAIL_OPERATOR="") as world:
        customer = await world.customer(email=None)
        subscription = await world.subscribe(customer, await world.price())
        await world.fake.request(
            "POST",
            "/v1/payment_intents",
            {
                "amount": 2000,
                "currency": "usd",
                "payment_method": "pm_card_createDisputeInquiry",
                "payment_method_types": ["card"],
                "confirm": True,
            },
            idempotency_key=world.key(),
        )
        await world.drain()
        async with world.runtime.db.connect() as conn:
            rows = {row["kind"]: row for row in (await conn.execute(sa.select(mail_log))).mappings()}
        assert rows["receipt"]["subject_id"] == subscription["latest_invoice"]
        assert {kind: row["state"] for kind, row in rows.items()} == {"receipt": "skipped", "dispute_opened": "skipped"}
        assert rows["receipt"]["last_error"]["reason"] == "no_recipient"
        assert world.sink.messages == []
    assert outcomes_since(before) == {("receipt", "skipped"): 1, ("dispute_opened", "skipped"): 1}


async def test_a_customer_the_mirror_lacks_is_asked_of_the_processor_and_a_429_only_snoozes(db_url: str) -> None:
    async with mail_world(db_url) as world:
        runtime = world.runtime
        customer = await world.customer()
        subscription = await world.subscribe(customer, await world.price())
        await runtime.drain(["remit_webhooks"])  # dispatched: the mirror and the receipt owed
        await world.fake.cancel_subscription(subscription["id"], idempotency_key=world.key())
        await runtime.drain(["remit_webhooks", "remit_invoices"])
        async with runtime.db.begin() as conn:  # as if the customer's own events had never arrived
            await conn.execute(sa.delete(customers).where(customers.c.stripe_id == customer))
        await world.fake.engine.fail_next("429", method="customers.retrieve", retry_after=1)
        outcomes = await runtime.drain(["remit_mailers"])
        assert outcomes["snoozed"] == 1  # the throttled lookup spent no attempt
        assert len(world.sink.messages) == 1  # the receipt: its invoice carries the address
        runtime.clock.advance(5)  # type: ignore[attr-defined]
        await runtime.drain(["remit_mailers"])
        async with runtime.db.connect() as conn:
            states = {row.kind: (row.state, row.deliveries) for row in await conn.execute(sa.select(mail_log))}
            attempts = [
                row.attempt
                for row in await conn.execute(sa.select(jobs.c.attempt).where(jobs.c.name == "remit.mail.send"))
            ]
        assert states == {"receipt": ("sent", 1), "subscription_cancelled": ("sent", 1)}
        assert all(message["To"] == PLANTED_EMAIL for message in world.sink.parsed())
        assert max(attempts) <= 2


async def test_request_mail_on_a_connection_with_no_transaction_open_owes_it_at_once(rt) -> None:
    """``runtime.db.connect()`` opens no transaction: the mail and its send job commit before
    ``request_mail`` returns, never left in a transaction nobody commits."""
    request = MailRequest(MailKind.CARD_EXPIRING, "pm_no_tx", "7", customer_id="cus_no_tx", params={"days": 7})
    async with rt.db.connect() as conn:
        assert await request_mail(conn, request) is not None
        assert not conn.in_transaction()
    async with rt.db.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(mail_log))).scalar_one() == 1
        sends = sa.select(sa.func.count()).select_from(jobs).where(jobs.c.queue.like("%mail%"))
        assert (await conn.execute(sends)).scalar_one() == 1
