"""The money part's handlers for failed payments and expired signups: one ops event per business event.

``charge_failed`` fires once per declined charge however many of ``charge.failed`` and
``invoice.payment_failed`` report it; ``incomplete_expired`` once per subscription. The customer's
payment-failed mail is owed by the mail part for ``invoice.payment_failed`` (key ``payment_failed:<invoice>:
<attempt>``), so nothing here owes it again; a declined one-off charge (no invoice) gets no mail — the customer
was on the payment page when it failed. Each handler claims its signal in the dispatch transaction
(:mod:`remit.money.signals`) and emits only when the claim won.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from remit.handlers import event_handler
from remit.money.failures import CHARGE_FAILED_EVENTS, SUBSCRIPTION_UPDATED, charge_failure, expired_signup
from remit.money.losses import Loss, dispute_loss
from remit.money.signals import Signal, claim
from remit.telemetry import metrics, ops
from remit.webhooks.handlers import HandlerContext


async def on_charge_failed(ctx: HandlerContext) -> bool:
    """``charge.failed`` / ``invoice.payment_failed`` → ``charge_failed`` (once per charge); whether it fired."""
    failure = charge_failure(ctx.type, ctx.data_object)
    if failure is None:
        return False
    subject_type, subject_id = ("charge", failure.charge_id) if failure.charge_id else ("invoice", failure.invoice_id)
    signal = Signal(
        "charge_failed",
        failure.key,
        subject_type,
        subject_id or "",
        reason=failure.failure_code,
        amount=failure.amount,
        currency=failure.currency,
    )
    if not await claim(ctx.conn, signal, ctx.runtime.clock.now()):
        return False
    ops.emit(
        "charge_failed",
        event_id=ctx.event.id,
        processor_event_id=ctx.event.event_id,
        charge_id=failure.charge_id,
        invoice_id=failure.invoice_id,
        subscription_id=failure.subscription_id,
        customer_id=failure.customer_id,
        amount=failure.amount,
        currency=failure.currency,
        failure_code=failure.failure_code,
        decline_code=failure.decline_code,
        attempt=failure.attempt,
    )
    return True


async def on_incomplete_expired(ctx: HandlerContext) -> bool:
    """A subscription shown ``incomplete_expired`` → ``incomplete_expired`` (once per subscription)."""
    expired = expired_signup(ctx.type, ctx.data_object)
    if expired is None:
        return False
    signal = Signal(
        "incomplete_expired", f"incomplete_expired:{expired.subscription_id}", "subscription", expired.subscription_id
    )
    if not await claim(ctx.conn, signal, ctx.runtime.clock.now()):
        return False
    ops.emit(
        "incomplete_expired",
        event_id=ctx.event.id,
        processor_event_id=ctx.event.event_id,
        subscription_id=expired.subscription_id,
        customer_id=expired.customer_id,
        invoice_id=expired.invoice_id,
    )
    return True


async def raise_loss(conn: AsyncConnection, loss: Loss, now: datetime) -> bool:
    """Claim ``loss`` in the caller's transaction and, when this is its first time, count and emit it."""
    if not await claim(conn, loss.signal, now):
        return False
    metrics.revenue_loss_total.labels(reason=loss.reason.value).inc()
    metrics.revenue_loss_amount_total.labels(reason=loss.reason.value).inc(max(loss.amount, 0))
    ops.emit(
        "revenue_loss",
        reason=loss.reason.value,
        object_type=loss.object_type,
        object_id=loss.object_id,
        charge_id=loss.charge_id,
        amount=loss.amount,
        fee=loss.fee,
        currency=loss.currency,
    )
    return True


async def on_dispute_closed(ctx: HandlerContext) -> bool:
    """``charge.dispute.closed`` with status ``lost`` → ``revenue_loss`` (``dispute_lost``, with its fee)."""
    loss = dispute_loss(ctx.data_object)
    return loss is not None and await raise_loss(ctx.conn, loss, ctx.runtime.clock.now())


CHARGE_FAILED_HANDLER = event_handler(CHARGE_FAILED_EVENTS, on_charge_failed, name="remit.money.charge_failed")
INCOMPLETE_EXPIRED_HANDLER = event_handler(
    SUBSCRIPTION_UPDATED, on_incomplete_expired, name="remit.money.incomplete_expired"
)

DISPUTE_HANDLER = event_handler("charge.dispute.closed", on_dispute_closed, name="remit.money.dispute_lost")

__all__ = [
    "CHARGE_FAILED_HANDLER",
    "DISPUTE_HANDLER",
    "INCOMPLETE_EXPIRED_HANDLER",
    "on_charge_failed",
    "on_dispute_closed",
    "on_incomplete_expired",
    "raise_loss",
]
