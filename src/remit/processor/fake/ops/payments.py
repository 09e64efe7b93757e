"""Money movement's core: charging a payment method (what every payment goes through: a payment intent, a
charge, the balance transaction, a dispute for a disputing card), settling bank debits, and an unconfirmed
payment intent. The API's payment intents and charges, refunds, disputes and payouts have modules of their
own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from remit.processor.fake.cards import DECLINE_CODES, Behavior
from remit.processor.fake.errors import CARD_ERROR, INVALID_REQUEST, ApiError
from remit.processor.fake.ops import methods
from remit.processor.fake.shapes import payments as shapes
from remit.processor.fake.store import StoredObject
from remit.processor.fake.tx import Tx

DISPUTE_RESPONSE_DAYS = 7
_SUCCEEDING = {Behavior.SUCCEED, Behavior.DISPUTE, Behavior.INQUIRY}
_DECLINING = {Behavior.DECLINE, Behavior.INSUFFICIENT_FUNDS}
_ASYNC = {Behavior.ASYNC_SUCCEED, Behavior.ASYNC_FAIL}


@dataclass
class ChargeResult:
    """What one attempt to take money did."""

    payment_intent: dict[str, Any]
    charge: dict[str, Any] | None
    behavior: Behavior

    @property
    def succeeded(self) -> bool:
        return str(self.payment_intent["status"]) in {"succeeded", "requires_capture"}

    @property
    def processing(self) -> bool:
        return str(self.payment_intent["status"]) == "processing"

    @property
    def requires_action(self) -> bool:
        return str(self.payment_intent["status"]) == "requires_action"

    def card_error(self) -> ApiError:
        """The 402 Stripe answers for this attempt when it did not succeed."""
        if self.requires_action:
            return ApiError(
                402,
                INVALID_REQUEST,
                "This payment requires additional user action.",
                code="invoice_payment_intent_requires_action",
                extra={"payment_intent": {"id": self.payment_intent["id"]}},
            )
        error = self.payment_intent.get("last_payment_error") or {}
        return ApiError(
            402,
            CARD_ERROR,
            str(error.get("message") or "Your card was declined."),
            code=str(error.get("code") or "card_declined"),
            decline_code=error.get("decline_code"),
            extra={
                "charge": self.charge["id"] if self.charge else None,
                "payment_intent": {"id": self.payment_intent["id"]},
            },
        )


def will_succeed(pm: StoredObject | None) -> bool:
    """Whether charging ``pm`` would succeed at once (decided before anything is written)."""
    return pm is not None and methods.behavior_of(pm) in _SUCCEEDING


async def record_balance_transaction(
    tx: Tx,
    *,
    amount: int,
    currency: str,
    source: str,
    type_: str,
    description: str | None,
    fee: int | None = None,
    category: str | None = None,
) -> dict[str, Any]:
    data = shapes.balance_transaction(
        await tx.new_id("balance_transaction"),
        created=tx.now,
        amount=amount,
        fee=shapes.processing_fee(amount) if fee is None else fee,
        currency=currency,
        source=source,
        type_=type_,
        description=description,
        reporting_category=category or type_,
    )
    return await tx.insert(data)


async def charge_payment_method(
    tx: Tx,
    *,
    amount: int,
    currency: str,
    customer: str | None,
    pm: StoredObject,
    description: str | None,
    invoice: str | None = None,
    capture: bool = True,
    metadata: dict[str, str] | None = None,
    shipping: dict[str, Any] | None = None,
    intent: dict[str, Any] | None = None,
) -> ChargeResult:
    """Make a payment intent for ``amount`` (or take the unconfirmed ``intent``) and confirm it with ``pm``; the
    card's behaviour decides the rest.

    Events, in Stripe's order: ``payment_intent.created`` (not for an ``intent``), then ``charge.succeeded`` +
    ``payment_intent.succeeded`` (or ``payment_intent.amount_capturable_updated`` for a manual capture),
    ``charge.failed`` + ``payment_intent.payment_failed``, ``payment_intent.requires_action``, or
    ``charge.pending`` + ``payment_intent.processing`` for bank debits; a disputing card then opens a dispute.
    """
    behavior = methods.behavior_of(pm)
    if intent is not None:
        pi = intent
        pi.update(payment_method=pm.id, last_payment_error=None, next_action=None)
    else:
        pi = shapes.payment_intent(
            await tx.new_id("payment_intent"),
            created=tx.now,
            amount=amount,
            currency=currency,
            customer=customer,
            description=description,
            invoice=invoice,
            payment_method=pm.id,
            payment_method_types=[str(pm.data.get("type", "card"))],
            capture_method="automatic" if capture else "manual",
            status="requires_confirmation",
            metadata=metadata,
            shipping=shipping,
        )
        await tx.insert(pi)
        await tx.emit("payment_intent.created", pi)
    pi_id = pi["id"]
    result = ChargeResult(pi, None, behavior)
    if behavior is Behavior.REQUIRES_ACTION:
        pi.update(
            status="requires_action",
            next_action={
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": ""},
            },
        )
        await tx.save(pi)
        await tx.emit("payment_intent.requires_action", pi)
        return result
    charge_id = await tx.new_id("charge")
    if behavior in _DECLINING:
        decline_code, message = DECLINE_CODES[behavior]
        ch = shapes.charge(
            charge_id,
            created=tx.now,
            amount=amount,
            currency=currency,
            customer=customer,
            description=description,
            invoice=invoice,
            payment_intent=pi_id,
            pm=pm.data,
            status="failed",
            captured=False,
            balance_transaction=None,
            failure_code="card_declined",
            failure_message=message,
            decline_code=decline_code,
            metadata=metadata,
        )
        await tx.insert(ch)
        pi.update(
            status="requires_payment_method",
            payment_method=None,
            last_payment_error={
                "charge": charge_id,
                "code": "card_declined",
                "decline_code": decline_code,
                "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                "message": message,
                "payment_method": pm.data,
                "type": "card_error",
            },
        )
        add_charge(pi, ch)
        await tx.save(pi)
        await tx.emit("charge.failed", ch)
        await tx.emit("payment_intent.payment_failed", pi)
        return ChargeResult(pi, ch, behavior)
    if behavior in _ASYNC:
        ch = shapes.charge(
            charge_id,
            created=tx.now,
            amount=amount,
            currency=currency,
            customer=customer,
            description=description,
            invoice=invoice,
            payment_intent=pi_id,
            pm=pm.data,
            status="pending",
            captured=True,
            balance_transaction=None,
            metadata=metadata,
        )
        await tx.insert(ch)
        pi.update(status="processing", processing={"type": pm.data.get("type")})
        add_charge(pi, ch)
        await tx.save(pi)
        await tx.emit("charge.pending", ch)
        await tx.emit("payment_intent.processing", pi)
        return ChargeResult(pi, ch, behavior)
    txn = None
    if capture:
        txn = await record_balance_transaction(
            tx, amount=amount, currency=currency, source=charge_id, type_="charge", description=description
        )
    ch = shapes.charge(
        charge_id,
        created=tx.now,
        amount=amount,
        currency=currency,
        customer=customer,
        description=description,
        invoice=invoice,
        payment_intent=pi_id,
        pm=pm.data,
        status="succeeded",
        captured=capture,
        balance_transaction=txn["id"] if txn else None,
        metadata=metadata,
    )
    await tx.insert(ch)
    if capture:
        pi.update(status="succeeded", amount_received=amount)
    else:
        pi.update(status="requires_capture", amount_capturable=amount)
    add_charge(pi, ch)
    await tx.save(pi)
    await tx.emit("charge.succeeded", ch)
    await tx.emit("payment_intent.succeeded" if capture else "payment_intent.amount_capturable_updated", pi)
    if behavior in {Behavior.DISPUTE, Behavior.INQUIRY}:
        await open_dispute(tx, ch, inquiry=behavior is Behavior.INQUIRY)
    return ChargeResult(pi, ch, behavior)


async def settle_async(tx: Tx, result: ChargeResult) -> ChargeResult:
    """A bank debit settles: ``charge.succeeded`` + ``payment_intent.succeeded``, or the failed pair."""
    pi, ch = result.payment_intent, result.charge
    if ch is None or not result.processing:
        return result
    if result.behavior is Behavior.ASYNC_SUCCEED:
        txn = await record_balance_transaction(
            tx,
            amount=ch["amount"],
            currency=ch["currency"],
            source=ch["id"],
            type_="charge",
            description=ch["description"],
        )
        ch.update(
            status="succeeded",
            paid=True,
            amount_captured=ch["amount"],
            balance_transaction=txn["id"],
            outcome=shapes.outcome(True),
        )
        pi.update(status="succeeded", amount_received=ch["amount"], processing=None)
        event_ch, event_pi = "charge.succeeded", "payment_intent.succeeded"
    else:
        decline_code, message = DECLINE_CODES[Behavior.ASYNC_FAIL]
        ch.update(
            status="failed",
            captured=False,
            failure_code=decline_code,
            failure_message=message,
            outcome=shapes.outcome(False, decline_code),
        )
        pi.update(
            status="requires_payment_method",
            processing=None,
            last_payment_error={"charge": ch["id"], "code": decline_code, "message": message, "type": "card_error"},
        )
        event_ch, event_pi = "charge.failed", "payment_intent.payment_failed"
    add_charge(pi, ch)
    await tx.save(ch)
    await tx.save(pi)
    await tx.emit(event_ch, ch)
    await tx.emit(event_pi, pi)
    return result


def add_charge(pi: dict[str, Any], ch: dict[str, Any]) -> None:
    charges = [c for c in pi["charges"]["data"] if c["id"] != ch["id"]] + [ch]
    pi["charges"] = dict(pi["charges"], data=charges, total_count=len(charges))


async def open_dispute(tx: Tx, ch: dict[str, Any], *, inquiry: bool) -> dict[str, Any]:
    """The cardholder disputes ``ch``: ``charge.dispute.created``; a real dispute (not an inquiry) also takes
    the money and the dispute fee back (``charge.dispute.funds_withdrawn``)."""
    dispute_id = await tx.new_id("dispute")
    withdrawals: list[dict[str, Any]] = []
    if not inquiry:
        withdrawals.append(
            await record_balance_transaction(
                tx,
                amount=-int(ch["amount"]),
                currency=ch["currency"],
                source=dispute_id,
                type_="adjustment",
                description=f"Chargeback withdrawal for {ch['id']}",
                fee=shapes.DISPUTE_FEE,
                category="dispute",
            )
        )
    dp = shapes.dispute(
        dispute_id,
        created=tx.now,
        charge_=ch,
        reason="general" if inquiry else "fraudulent",
        status="warning_needs_response" if inquiry else "needs_response",
        balance_transactions=withdrawals,
        due_by=tx.now + DISPUTE_RESPONSE_DAYS * 86400,
    )
    await tx.insert(dp)
    before = dict(ch)
    ch.update(disputed=True, dispute=dispute_id)
    await tx.save(ch)
    await tx.emit("charge.dispute.created", dp)
    if withdrawals:
        await tx.emit("charge.dispute.funds_withdrawn", dp)
    await tx.emit("charge.updated", ch, before=before)
    return dp


async def open_payment_intent(
    tx: Tx,
    *,
    amount: int,
    currency: str,
    customer: str | None,
    description: str | None,
    invoice: str | None = None,
    payment_method: str | None = None,
    payment_method_types: list[str] | None = None,
    capture_method: str = "automatic",
    metadata: dict[str, str] | None = None,
    shipping: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An unconfirmed payment intent (``payment_intent.created``): waiting for a payment method, or for
    confirmation when it has one."""
    pi = shapes.payment_intent(
        await tx.new_id("payment_intent"),
        created=tx.now,
        amount=amount,
        currency=currency,
        customer=customer,
        description=description,
        invoice=invoice,
        payment_method=payment_method,
        payment_method_types=payment_method_types or ["card"],
        capture_method=capture_method,
        status="requires_confirmation" if payment_method else "requires_payment_method",
        metadata=metadata,
        shipping=shipping,
    )
    await tx.insert(pi)
    await tx.emit("payment_intent.created", pi)
    return pi


__all__ = [
    "ChargeResult",
    "add_charge",
    "charge_payment_method",
    "open_dispute",
    "open_payment_intent",
    "record_balance_transaction",
    "settle_async",
    "will_succeed",
]
