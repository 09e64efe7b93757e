"""Mail tests' harness: a real SMTP server on loopback (aiosmtpd), and a fake-processor world wired to remit.

:class:`SmtpSink` keeps every message that arrives, exactly as it arrived, and can refuse the next ones with
a reply code (which may quote the address, as real servers do). :func:`mail_world` builds a full runtime
sending through that server, and the app receiving the fake processor's webhooks.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from remit.api.app import create_app
from remit.api.webhooks import close_writer
from remit.db.tables import invoices, subscriptions
from remit.money.dunning import SWEEP_TASK_NAME, get_case
from remit.processor.fake import AsgiDelivery, FakeEngine, FakeProcessor
from remit.runtime import Runtime
from remit.telemetry.metrics import REGISTRY
from tests.support.webhooks import SECRET, make_runtime, webhook_settings

#: The customer's address, planted so tests can prove it reaches the mail server and nothing else.
PLANTED_EMAIL = "ada.lovelace+planted@example.com"
PLANTED_NAME = "Ada Planted-Lovelace"
SENDER = "Acme Billing <billing@acme.example>"
REPLY_TO = "support@acme.example"
OPERATOR = "ops@acme.example"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mail_outcomes() -> dict[tuple[str, str], float]:
    """``remit_mail_sent_total`` now, by ``(kind, outcome)``: take it before, compare with :func:`outcomes_since`."""
    return {
        (found.labels["kind"], found.labels["outcome"]): found.value
        for family in REGISTRY.collect()
        for found in family.samples
        if found.name == "remit_mail_sent_total"
    }


def outcomes_since(before: dict[tuple[str, str], float]) -> dict[tuple[str, str], float]:
    """The ``(kind, outcome)`` counts that moved since ``before`` (this process's counter is shared by tests)."""
    return {key: value - before.get(key, 0.0) for key, value in mail_outcomes().items() if value != before.get(key)}


@dataclass
class SmtpSink:
    """aiosmtpd's handler, on a server of its own (a thread with its own loop)."""

    messages: list[bytes] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)
    rcpt_replies: list[str] = field(default_factory=list)
    controller: Controller | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0).replace("{address}", address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        self.messages.append(bytes(envelope.original_content or envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def start(self) -> str:
        """Listen on a free loopback port; the ``REMIT_SMTP_URL`` to reach it."""
        port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=port)
        self.controller.start()
        return f"smtp://127.0.0.1:{port}?timeout=10"

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    def parsed(self) -> list[EmailMessage]:
        found = []
        for raw in self.messages:
            message = BytesParser(policy=policy.default).parsebytes(raw)
            assert isinstance(message, EmailMessage)
            found.append(message)
        return found


@dataclass
class MailWorld:
    runtime: Runtime
    fake: FakeProcessor
    sink: SmtpSink
    app: Any

    def key(self) -> str:
        return f"test-{uuid.uuid4().hex[:12]}"

    async def drain(self) -> None:
        await self.runtime.drain()

    async def customer(self, card: str = "pm_card_visa", *, email: str | None = PLANTED_EMAIL) -> str:
        customer = await self.fake.create_customer(
            email=email, name=PLANTED_NAME, payment_method=card, idempotency_key=self.key()
        )
        return str(customer["id"])

    async def price(self, amount: int = 1500, nickname: str = "starter-monthly") -> str:
        product = await self.fake.create_product(name="Starter", idempotency_key=self.key())
        price = await self.fake.create_price(
            product=product["id"], unit_amount=amount, idempotency_key=self.key(), nickname=nickname
        )
        return str(price["id"])

    async def subscribe(self, customer_id: str, price_id: str, **extra: Any) -> dict[str, Any]:
        return await self.fake.create_subscription(
            customer=customer_id, items=[{"price": price_id}], idempotency_key=self.key(), **extra
        )

    async def paid_invoice(self) -> str:
        """A customer subscribes and pays their first invoice; the world is drained. The invoice id."""
        customer_id = await self.customer()
        subscription = await self.subscribe(customer_id, await self.price())
        await self.drain()
        return str(subscription["latest_invoice"])

    async def paid_charges(self, count: int) -> list[str]:
        """``count`` customers subscribe and pay their first invoice; the world is drained. Their charge ids."""
        price = await self.price(2500)
        charge_ids = []
        for _ in range(count):
            subscription = await self.subscribe(await self.customer(), price)
            invoice = await self.fake.retrieve_invoice(subscription["latest_invoice"])
            charge_ids.append(str(invoice["charge"]))
        await self.drain()
        return charge_ids

    async def past_due_subscription(self) -> tuple[str, str]:
        """A customer pays their first month, then their card starts failing and the renewal is declined; the
        world is drained, the subscription past due and in its dunning grace. The customer and subscription ids."""
        customer = await self.customer()
        subscription = await self.subscribe(customer, await self.price(1500))
        failing = await self.fake.attach_payment_method(
            "pm_card_chargeCustomerFail", customer=customer, idempotency_key=self.key()
        )
        await self.fake.update_customer(customer, default_payment_method=failing["id"], idempotency_key=self.key())
        await self.fake.engine.advance_clock(int(timedelta(days=31).total_seconds()))
        await self.drain()
        return customer, str(subscription["id"])

    async def past_grace(self, subscription_id: str) -> None:
        """remit's clock moves a minute past the subscription's dunning grace: the next sweep asks the processor."""
        async with self.runtime.db.connect() as conn:
            case = await get_case(conn, subscription_id)
        assert case is not None, "the subscription has no dunning case"
        self.runtime.clock.advance(case.grace_until - self.runtime.clock.now() + timedelta(minutes=1))  # type: ignore[attr-defined]

    async def sweep(self) -> None:
        """The dunning sweeper runs once, and the webhooks it causes are delivered."""
        await self.runtime.engine.run_periodic(SWEEP_TASK_NAME, app=self.runtime, raise_errors=True)
        await self.drain()

    async def mirrored_status(self, subscription_id: str) -> str:
        """The subscription's status in remit's mirror."""
        async with self.runtime.db.connect() as conn:
            query = sa.select(subscriptions.c.status).where(subscriptions.c.stripe_id == subscription_id)
            return str((await conn.execute(query)).scalar_one())

    async def statuses(self, subscription_id: str, invoice_id: str) -> tuple[str, str]:
        """The subscription's and the invoice's statuses in remit's mirror."""
        async with self.runtime.db.connect() as conn:
            sub = sa.select(subscriptions.c.status).where(subscriptions.c.stripe_id == subscription_id)
            inv = sa.select(invoices.c.status).where(invoices.c.stripe_id == invoice_id)
            return str((await conn.execute(sub)).scalar_one()), str((await conn.execute(inv)).scalar_one())


@asynccontextmanager
async def mail_world(db_url: str, *, smtp: bool = True, **settings: str) -> AsyncIterator[MailWorld]:
    """A full runtime (remit's parts: the mirror, documents and mail) sending through a loopback SMTP server
    (or, without ``smtp``, to the outbox), the app it serves, and the fake processor delivering into that app."""
    sink = SmtpSink()
    values = {"REMIT_MAIL_FROM": SENDER, "REMIT_MAIL_REPLY_TO": REPLY_TO, "REMIT_MAIL_OPERATOR": OPERATOR}
    if smtp:
        values["REMIT_SMTP_URL"] = sink.start()
    values.update(settings)
    runtime = make_runtime(webhook_settings(db_url, **values))
    app = create_app(runtime)
    try:
        delivery = AsgiDelivery(app)
        fake = FakeProcessor(FakeEngine(runtime.db, runtime.clock, delivery=delivery, secret=SECRET))
        if isinstance(runtime.processor, FakeProcessor):  # what remit's jobs call emits into the same app
            runtime.processor.engine.delivery = delivery
        yield MailWorld(runtime, fake, sink, app)
    finally:
        await close_writer(app)
        await runtime.close()
        sink.stop()


__all__ = [
    "OPERATOR",
    "PLANTED_EMAIL",
    "PLANTED_NAME",
    "REPLY_TO",
    "SENDER",
    "MailWorld",
    "SmtpSink",
    "mail_outcomes",
    "mail_world",
    "outcomes_since",
]
