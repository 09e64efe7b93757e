"""Money movement: charging a payment method (the core every payment goes through), payment intents (create,
confirm, capture, cancel, update, list, search) and charges (retrieve, update, list, search). Refunds, disputes
and payouts have modules of their own."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from remit.processor.fake.cards import DECLINE_CODES, Behavior
from remit.processor.fake.errors import CARD_ERROR, INVALID_REQUEST, ApiError, invalid, parameter_missing
from remit.processor.fake.ops import methods
from remit.processor.fake.ops.common import apply_fields, equal_to, listed, searched
from remit.processor.fake.params import Params, merge_metadata
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
        _add_charge(pi, ch)
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
        _add_charge(pi, ch)
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
    _add_charge(pi, ch)
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
    _add_charge(pi, ch)
    await tx.save(ch)
    await tx.save(pi)
    await tx.emit(event_ch, ch)
    await tx.emit(event_pi, pi)
    return result


def _add_charge(pi: dict[str, Any], ch: dict[str, Any]) -> None:
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


def _method_types(p: Params) -> list[str] | None:
    return p.strings("payment_method_types") or p.strings("allowed_payment_method_types") or None


async def create_payment_intent(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/payment_intents``; with ``confirm`` it charges at once (a decline answers 402)."""
    amount = p.integer("amount")
    if amount is None:
        raise parameter_missing("amount")
    if amount < 1:
        raise invalid("Amount must be at least 1 cent.", param="amount", code="amount_too_small")
    currency = p.require_str("currency").lower()
    customer = p.string("customer")
    if customer:
        await tx.get(customer, "customer", param="customer")
    metadata = merge_metadata({}, p.raw("metadata"))
    pm_ref = p.string("payment_method")
    capture_method = p.string("capture_method", "automatic") or "automatic"
    if not p.boolean("confirm", False) or not pm_ref:
        pm_id = (await methods.resolve(tx, pm_ref)).id if pm_ref else None
        pi = await open_payment_intent(
            tx,
            amount=amount,
            currency=currency,
            customer=customer,
            description=p.string("description"),
            payment_method=pm_id,
            payment_method_types=_method_types(p),
            capture_method=capture_method,
            metadata=metadata,
            shipping=p.mapping("shipping") or None,
        )
        if p.has("receipt_email"):
            pi["receipt_email"] = p.string("receipt_email")
            await tx.save(pi)
        return pi
    pm = await methods.resolve(tx, pm_ref)
    result = await charge_payment_method(
        tx,
        amount=amount,
        currency=currency,
        customer=customer,
        pm=pm,
        description=p.string("description"),
        capture=capture_method != "manual",
        metadata=metadata,
        shipping=p.mapping("shipping") or None,
    )
    if not (result.succeeded or result.processing):
        if result.requires_action:
            return result.payment_intent
        tx.error = result.card_error()
    return result.payment_intent


_CONFIRMABLE = {"requires_payment_method", "requires_confirmation", "requires_action"}


async def confirm_payment_intent(tx: Tx, p: Params, pi_id: str) -> dict[str, Any]:
    """``POST /v1/payment_intents/{id}/confirm``: charge with ``payment_method`` (or the one it has); an
    invoice's payment intent pays its invoice. A decline answers 402 after committing, as at Stripe."""
    pi = (await tx.get(pi_id, "payment_intent")).data
    if pi["status"] not in _CONFIRMABLE:
        raise invalid(
            f"This PaymentIntent's status is {pi['status']}, but it must be one of "
            "requires_payment_method, requires_confirmation, or requires_action to be confirmed.",
            code="payment_intent_unexpected_state",
        )
    pm_ref = p.string("payment_method") or pi["payment_method"]
    if not pm_ref:
        raise invalid(
            "You cannot confirm this PaymentIntent because it's missing a payment method. Update the PaymentIntent "
            "with a payment method and then confirm it again.",
            code="payment_intent_unexpected_state",
        )
    pm = await methods.resolve(tx, pm_ref)
    if pi["customer"] and not pm.data.get("customer"):
        pm = await methods.attach(tx, pm.id, pi["customer"])
    if p.has("receipt_email"):
        pi["receipt_email"] = p.string("receipt_email") or None
    result = await charge_payment_method(
        tx,
        amount=int(pi["amount"]),
        currency=pi["currency"],
        customer=pi["customer"],
        pm=pm,
        description=pi["description"],
        invoice=pi.get("invoice"),
        capture=pi["capture_method"] != "manual",
        intent=pi,
    )
    if result.succeeded and pi.get("invoice"):
        from remit.processor.fake.ops.invoices import mark_paid

        inv = (await tx.get(pi["invoice"], "invoice")).data
        if inv["status"] == "open":
            inv["attempt_count"] = int(inv["attempt_count"])
            await mark_paid(tx, inv, result)
    if not (result.succeeded or result.processing or result.requires_action):
        tx.error = result.card_error()
    return result.payment_intent


async def capture_payment_intent(tx: Tx, p: Params, pi_id: str) -> dict[str, Any]:
    """``POST /v1/payment_intents/{id}/capture``: ``charge.captured`` + ``payment_intent.succeeded``."""
    pi = (await tx.get(pi_id, "payment_intent")).data
    if pi["status"] != "requires_capture":
        raise invalid(
            f"This PaymentIntent could not be captured because it has a status of {pi['status']}.",
            code="payment_intent_unexpected_state",
        )
    ch = (await tx.get(pi["charges"]["data"][-1]["id"], "charge")).data
    amount = p.integer("amount_to_capture", ch["amount"]) or ch["amount"]
    if amount > int(ch["amount"]):
        raise invalid(
            "The amount to capture cannot be greater than the amount capturable.",
            param="amount_to_capture",
            code="amount_too_large",
        )
    txn = await record_balance_transaction(
        tx, amount=amount, currency=ch["currency"], source=ch["id"], type_="charge", description=ch["description"]
    )
    before = dict(ch)
    ch.update(captured=True, amount_captured=amount, balance_transaction=txn["id"])
    pi.update(status="succeeded", amount_capturable=0, amount_received=amount)
    pi["metadata"] = merge_metadata(pi["metadata"], p.raw("metadata"))
    _add_charge(pi, ch)
    await tx.save(ch)
    await tx.save(pi)
    await tx.emit("charge.captured", ch, before=before)
    await tx.emit("payment_intent.succeeded", pi)
    return pi


_CANCELABLE = _CONFIRMABLE | {"requires_capture"}


async def cancel_payment_intent(tx: Tx, p: Params, pi_id: str) -> dict[str, Any]:
    """``POST /v1/payment_intents/{id}/cancel``: ``payment_intent.canceled``; an authorized, uncaptured
    charge is released (``charge.refunded``)."""
    pi = (await tx.get(pi_id, "payment_intent")).data
    if pi["status"] not in _CANCELABLE:
        raise invalid(
            f"You cannot cancel this PaymentIntent because it has a status of {pi['status']}. Only a PaymentIntent "
            "with one of the following statuses may be canceled: requires_payment_method, requires_capture, "
            "requires_confirmation, requires_action, processing.",
            code="payment_intent_unexpected_state",
        )
    if pi["status"] == "requires_capture":
        ch = (await tx.get(pi["charges"]["data"][-1]["id"], "charge")).data
        before = dict(ch)
        ch.update(refunded=True, amount_refunded=ch["amount"])
        await tx.save(ch)
        _add_charge(pi, ch)
        await tx.emit("charge.refunded", ch, before=before)
    pi.update(
        status="canceled",
        canceled_at=tx.now,
        cancellation_reason=p.string("cancellation_reason"),
        amount_capturable=0,
        next_action=None,
    )
    await tx.save(pi)
    await tx.emit("payment_intent.canceled", pi)
    return pi


_UPDATABLE_AMOUNTS = ("amount", "currency", "customer", "payment_method")


async def update_payment_intent(tx: Tx, p: Params, pi_id: str) -> dict[str, Any]:
    """``POST /v1/payment_intents/{id}``: description, metadata, receipt email and shipping always; amount,
    currency, customer and payment method only before it is confirmed. No event (Stripe has none)."""
    before = (await tx.get(pi_id, "payment_intent")).data
    after = copy.deepcopy(before)
    changing = [key for key in _UPDATABLE_AMOUNTS if key in p.data]
    if changing and before["status"] not in _CONFIRMABLE:
        raise invalid(
            f"You cannot update {changing[0]} on a PaymentIntent with a status of {before['status']}.",
            param=changing[0],
            code="payment_intent_unexpected_state",
        )
    if p.has("customer"):
        await tx.get(p.require_str("customer"), "customer", param="customer")
    if p.has("payment_method"):
        after["payment_method"] = (await methods.resolve(tx, p.require_str("payment_method"))).id
        if after["status"] == "requires_payment_method":
            after["status"] = "requires_confirmation"
    if p.has("currency"):
        after["currency"] = p.require_str("currency").lower()
    apply_fields(after, p, "amount", "customer", "description", "metadata", "receipt_email", "shipping")
    if after != before:
        await tx.save(after)
    return after


async def retrieve_payment_intent(tx: Tx, p: Params, pi_id: str) -> dict[str, Any]:
    return (await tx.get(pi_id, "payment_intent")).data


async def list_payment_intents(tx: Tx, p: Params) -> dict[str, Any]:
    return await listed(tx, p, "payment_intent", url="/v1/payment_intents", customer=p.string("customer"))


async def search_payment_intents(tx: Tx, p: Params) -> dict[str, Any]:
    return await searched(tx, p, "payment_intent", "payment_intents")


async def retrieve_charge(tx: Tx, p: Params, charge_id: str) -> dict[str, Any]:
    return (await tx.get(charge_id, "charge")).data


async def list_charges(tx: Tx, p: Params) -> dict[str, Any]:
    return await listed(
        tx, p, "charge", url="/v1/charges", customer=p.string("customer"), where=[equal_to(p, "payment_intent")]
    )


async def search_charges(tx: Tx, p: Params) -> dict[str, Any]:
    return await searched(tx, p, "charge", "charges")


async def update_charge(tx: Tx, p: Params, charge_id: str) -> dict[str, Any]:
    """``POST /v1/charges/{id}``: description, metadata, receipt email, shipping, a fraud report;
    ``charge.updated``."""
    before = (await tx.get(charge_id, "charge")).data
    after = copy.deepcopy(before)
    apply_fields(after, p, "description", "metadata", "receipt_email", "shipping")
    report = p.sub("fraud_details")
    if "user_report" in report.data:
        after["fraud_details"] = {"user_report": report.string("user_report")} if report.string("user_report") else {}
    if after != before:
        await tx.save(after)
        await tx.emit("charge.updated", after, before=before)
    return after


__all__ = [
    "ChargeResult",
    "cancel_payment_intent",
    "capture_payment_intent",
    "charge_payment_method",
    "confirm_payment_intent",
    "create_payment_intent",
    "list_charges",
    "list_payment_intents",
    "open_dispute",
    "open_payment_intent",
    "record_balance_transaction",
    "retrieve_charge",
    "retrieve_payment_intent",
    "search_charges",
    "search_payment_intents",
    "settle_async",
    "update_charge",
    "update_payment_intent",
    "will_succeed",
]
