"""The demo scenario (``remit demo``): a small SaaS's first billing day, driven through the fake processor.

Customers sign up (one through a hosted checkout, others directly), subscribe and pay; one card fails and
later succeeds after the customer updates it; one customer upgrades; a payment is refunded; another is
disputed; a one-day trial ends on a card that declines, so its subscription goes past due and into dunning
(the fake's clock moves a day); and one subscription carries seats metadata a sales rep typed as a word,
which the sandbox host app's seat grant (:mod:`remit.sandbox.seats`, run by ``remit up``) cannot read:
its events become dead letters. Every step goes through :class:`~remit.processor.fake.FakeProcessor`, so
the running service receives exactly the webhooks Stripe would send for the same story, and its mirror,
ledger and webhook store — dead-letter queue included — fill with real-looking data. Idempotency keys carry
a run id, so running the demo twice makes two stories. It lives beside the sandbox host app whose handlers
it exercises; the command that runs it and prints where to look next is :mod:`remit.cli.demo`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from remit.billing.actions import create_checkout_session
from remit.processor.fake.engine import Delivered
from remit.processor.fake.events import DeliveryStatus
from remit.processor.fake.processor import FakeProcessor
from remit.runtime import Runtime


@dataclass
class DemoStep:
    what: str
    ids: list[str]


#: What the sales rep typed into the subscription's ``metadata.seats``.
UNREADABLE_SEATS = "twelve"
DAY_S = 86_400


@dataclass
class DemoReport:
    """What the scenario did. ``dead_letter_event_ids`` are the processor ids of the events the sandbox's
    seat grant cannot handle (the subscription events of the ``twelve`` seats step), so the demo command can
    find them in the service's dead-letter queue. ``renews_at`` is when the last of the story's subscriptions
    that go on reaches the end of its first period (unix time on the fake's clock): "a month later" is a
    calendar month, so the demo says how far to move the clock instead of assuming 30 days."""

    run_id: str
    steps: list[DemoStep] = field(default_factory=list)
    deliveries: list[Delivered] = field(default_factory=list)
    dead_letter_event_ids: list[str] = field(default_factory=list)
    #: A paid invoice of the story whose receipt (with its PDF) the service mails: where ``remit demo`` points.
    receipt_invoice_id: str | None = None
    renews_at: int | None = None
    #: The subscription whose renewal is declined (past due): the dunning case ``remit demo`` points at.
    dunning_subscription_id: str | None = None
    #: The paid checkout handed to provisioning, and its customer (whose usage ``remit demo`` shows recording).
    checkout_session_id: str | None = None
    checkout_customer_id: str | None = None

    def add(self, what: str, *ids: str) -> None:
        self.steps.append(DemoStep(what, list(ids)))

    @property
    def failed_deliveries(self) -> list[Delivered]:
        return [d for d in self.deliveries if not d.ok]


async def _events_since(fake: FakeProcessor, seen: int) -> list[Delivered]:
    """What became of the delivery of every event after the first ``seen`` ones."""
    events = (await fake.engine.events(newest_first=False))[seen:]
    return [
        Delivered(
            e.id,
            e.type,
            e.last_status_code,
            None if e.delivery_status is DeliveryStatus.DELIVERED else e.delivery_status.value,
        )
        for e in events
    ]


async def run_demo(fake: FakeProcessor, runtime: Runtime) -> DemoReport:
    """Run the scenario; the fake delivers each call's events as it goes. The checkout goes through remit's
    checkout action on ``runtime``, whose processor becomes ``fake``."""
    runtime.processor = fake
    run = uuid.uuid4().hex[:8]
    report = DemoReport(run)
    seen = len(await fake.engine.events(newest_first=False))
    counter = iter(range(1, 1000))

    def key() -> str:
        return f"demo-{run}-{next(counter)}"

    starter_product = await fake.create_product(name="Starter", idempotency_key=key())
    starter = await fake.create_price(
        product=starter_product["id"], unit_amount=1500, idempotency_key=key(), nickname="starter-monthly"
    )
    pro_product = await fake.create_product(name="Pro", idempotency_key=key())
    pro = await fake.create_price(
        product=pro_product["id"], unit_amount=4900, idempotency_key=key(), nickname="pro-monthly"
    )
    report.add("catalog: Starter 15.00/month, Pro 49.00/month", starter["id"], pro["id"])

    # Through remit's own checkout action, as a host would: a new account buying the demo package ``pro``, so
    # the paid checkout is handed to provisioning with that account and package.
    account = f"acct_demo_{run}"
    session = await create_checkout_session(
        runtime,
        account_id=account,
        package="pro",
        idempotency_key=key(),
        success_url="https://example.com/welcome",
        cancel_url="https://example.com/pricing",
        customer_email="ada@example.com",
    )
    done = await fake.complete_checkout_session(str(session.id), payment_method="pm_card_visa", idempotency_key=key())
    report.add("signed up through checkout and subscribed to Pro", str(done["customer"]), str(done["subscription"]))
    report.add("checkout handed to provisioning, for the account (package pro)", str(session.id), account)
    report.checkout_session_id, report.checkout_customer_id = str(session.id), str(done["customer"])

    grace = await fake.create_customer(
        idempotency_key=key(), email="grace@example.com", name="Grace Hopper", payment_method="pm_card_visa"
    )
    grace_sub = await fake.create_subscription(
        customer=grace["id"], items=[{"price": starter["id"]}], idempotency_key=key()
    )
    report.add("signed up and subscribed to Starter", grace["id"], grace_sub["id"])
    report.receipt_invoice_id = str(grace_sub["latest_invoice"])

    linus = await fake.create_customer(
        idempotency_key=key(), email="linus@example.com", name="Linus T.", payment_method="pm_card_mastercard"
    )
    linus_sub = await fake.create_subscription(
        customer=linus["id"], items=[{"price": starter["id"]}], idempotency_key=key()
    )
    await fake.update_subscription(linus_sub["id"], price=pro["id"], idempotency_key=key())
    report.add("subscribed to Starter, then upgraded to Pro", linus["id"], linus_sub["id"])

    before_seats = len(await fake.engine.events(newest_first=False))
    katherine = await fake.create_customer(
        idempotency_key=key(), email="katherine@example.com", name="Katherine J.", payment_method="pm_card_visa"
    )
    katherine_sub = await fake.create_subscription(
        customer=katherine["id"],
        items=[{"price": pro["id"]}],
        metadata={"seats": UNREADABLE_SEATS},
        idempotency_key=key(),
    )
    report.dead_letter_event_ids = [
        d.event_id for d in await _events_since(fake, before_seats) if d.event_type.startswith("customer.subscription.")
    ]
    report.add(
        f"subscribed with seats metadata {UNREADABLE_SEATS!r}: the sandbox's seat-granting handler "
        "cannot read it → dead letter",
        katherine["id"],
        katherine_sub["id"],
    )

    margaret = await fake.create_customer(
        idempotency_key=key(),
        email="margaret@example.com",
        name="Margaret H.",
        payment_method="pm_card_chargeCustomerFail",
    )
    margaret_sub = await fake.create_subscription(
        customer=margaret["id"], items=[{"price": pro["id"]}], idempotency_key=key()
    )
    report.add(f"card declined: subscription {margaret_sub['status']}", margaret["id"], margaret_sub["id"])
    new_card = await fake.attach_payment_method("pm_card_visa", customer=margaret["id"], idempotency_key=key())
    await fake.update_customer(margaret["id"], default_payment_method=new_card["id"], idempotency_key=key())
    paid = await fake.pay_invoice(
        str(margaret_sub["latest_invoice"]), payment_method=new_card["id"], idempotency_key=key()
    )
    report.add("updated the card; the invoice was paid and the subscription revived", new_card["id"], paid["id"])

    grace_invoice = await fake.retrieve_invoice(str(grace_sub["latest_invoice"]))
    refund = await fake.create_refund(
        charge=str(grace_invoice["charge"]), amount=500, reason="requested_by_customer", idempotency_key=key()
    )
    report.add("partial refund of 5.00", str(grace_invoice["charge"]), refund["id"])

    alan = await fake.create_customer(
        idempotency_key=key(), email="alan@example.com", name="Alan T.", payment_method="pm_card_createDispute"
    )
    alan_sub = await fake.create_subscription(
        customer=alan["id"], items=[{"price": starter["id"]}], idempotency_key=key()
    )
    alan_invoice = await fake.retrieve_invoice(str(alan_sub["latest_invoice"]))
    report.add("paid, then the cardholder disputed the charge", alan["id"], str(alan_invoice["charge"]))

    await fake.cancel_subscription(grace_sub["id"], at_period_end=True, idempotency_key=key())
    report.add("asked to cancel at the end of the period", grace_sub["id"])

    barbara = await fake.create_customer(
        idempotency_key=key(),
        email="barbara@example.com",
        name="Barbara L.",
        payment_method="pm_card_chargeCustomerFail",
    )
    barbara_sub = await fake.create_subscription(
        customer=barbara["id"], items=[{"price": starter["id"]}], trial_period_days=1, idempotency_key=key()
    )
    await fake.engine.advance_clock(DAY_S)  # the trial ends a day later: the first renewal is declined
    report.dunning_subscription_id = str(barbara_sub["id"])
    report.add(
        "a one-day trial ended and the card was declined: past due, in dunning", barbara["id"], barbara_sub["id"]
    )

    ongoing = [done["subscription"], linus_sub["id"], katherine_sub["id"], margaret_sub["id"], alan_sub["id"]]
    period_ends = [int((await fake.retrieve_subscription(str(sub)))["current_period_end"]) for sub in ongoing]
    report.renews_at = max(period_ends)
    report.deliveries = await _events_since(fake, seen)
    return report


__all__ = ["UNREADABLE_SEATS", "DemoReport", "DemoStep", "run_demo"]
