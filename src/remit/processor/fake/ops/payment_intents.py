"""Payment intents: create (and confirm at once), confirm (an invoice's pays its invoice), capture, cancel,
update, retrieve, list, search."""

from __future__ import annotations

import copy
from typing import Any

from remit.processor.fake.errors import invalid, parameter_missing
from remit.processor.fake.ops import methods
from remit.processor.fake.ops.common import apply_fields, listed, searched
from remit.processor.fake.ops.payments import (
    add_charge,
    charge_payment_method,
    open_payment_intent,
    record_balance_transaction,
)
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.tx import Tx


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
    add_charge(pi, ch)
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
        add_charge(pi, ch)
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


_UPDATABLE_AMOUNTS = ("capture_method", "amount", "currency", "customer", "payment_method")


async def update_payment_intent(tx: Tx, p: Params, pi_id: str) -> dict[str, Any]:
    """``POST /v1/payment_intents/{id}``: description, metadata, receipt email and shipping always; amount,
    currency, customer, payment method and capture method only before it is confirmed. No event (Stripe has none)."""
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
    apply_fields(
        after, p, "amount", "capture_method", "customer", "description", "metadata", "receipt_email", "shipping"
    )
    if after != before:
        await tx.save(after)
    return after


async def retrieve_payment_intent(tx: Tx, p: Params, pi_id: str) -> dict[str, Any]:
    return (await tx.get(pi_id, "payment_intent")).data


async def list_payment_intents(tx: Tx, p: Params) -> dict[str, Any]:
    return await listed(tx, p, "payment_intent", url="/v1/payment_intents", customer=p.string("customer"))


async def search_payment_intents(tx: Tx, p: Params) -> dict[str, Any]:
    return await searched(tx, p, "payment_intent", "payment_intents")


__all__ = [
    "cancel_payment_intent",
    "capture_payment_intent",
    "confirm_payment_intent",
    "create_payment_intent",
    "list_payment_intents",
    "retrieve_payment_intent",
    "search_payment_intents",
    "update_payment_intent",
]
