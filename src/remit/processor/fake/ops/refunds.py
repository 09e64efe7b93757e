"""Refunds: create (the charge shows it), list, retrieve, update metadata, cancel.

The fake's refunds succeed at once, so there is never a pending refund left to cancel: ``cancel`` answers
Stripe's 400 for a refund that has already succeeded.
"""

from __future__ import annotations

from typing import Any

from remit.processor.fake.errors import invalid, parameter_missing
from remit.processor.fake.ops.common import equal_to, listed, update_object
from remit.processor.fake.ops.payments import record_balance_transaction
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.shapes import payments as shapes
from remit.processor.fake.tx import Tx


async def create_refund(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/refunds``: the charge shows the refund (``charge.refunded``, previous amounts included)."""
    charge_id = p.string("charge")
    if not charge_id:
        pi_id = p.string("payment_intent")
        if not pi_id:
            raise parameter_missing("charge")
        pi = (await tx.get(pi_id, "payment_intent", param="payment_intent")).data
        succeeded = [c for c in pi["charges"]["data"] if c["status"] == "succeeded"]
        if not succeeded:
            raise invalid(
                "This PaymentIntent does not have a successful charge to refund.",
                param="payment_intent",
                code="charge_not_refundable",
            )
        charge_id = succeeded[-1]["id"]
    ch = (await tx.get(charge_id, "charge", param="charge")).data
    if ch["status"] != "succeeded" or not ch["captured"]:
        raise invalid(f"Charge {charge_id} has not been captured and cannot be refunded.", code="charge_not_refundable")
    remaining = int(ch["amount_captured"]) - int(ch["amount_refunded"])
    amount = p.integer("amount", remaining)
    if amount is None or amount <= 0 or amount > remaining:
        code = "charge_already_refunded" if remaining == 0 else "amount_too_large"
        raise invalid(
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
            param="amount",
            code=code,
        )
    refund_id = await tx.new_id("refund")
    txn = await record_balance_transaction(
        tx,
        amount=-amount,
        currency=ch["currency"],
        source=refund_id,
        type_="refund",
        description="REFUND FOR CHARGE",
        fee=0,
    )
    re = shapes.refund(
        refund_id,
        created=tx.now,
        amount=amount,
        currency=ch["currency"],
        charge=charge_id,
        payment_intent=ch.get("payment_intent"),
        reason=p.string("reason"),
        balance_transaction=txn["id"],
        metadata=merge_metadata({}, p.raw("metadata")),
    )
    await tx.insert(re)
    before = _refund_view(ch)
    refunds = [re, *ch["refunds"]["data"]]
    ch.update(
        amount_refunded=int(ch["amount_refunded"]) + amount,
        refunded=int(ch["amount_refunded"]) + amount >= int(ch["amount_captured"]),
        refunds=dict(ch["refunds"], data=refunds, total_count=len(refunds)),
    )
    await tx.save(ch)
    await tx.emit("charge.refunded", ch, before=dict(ch, **before))
    return re


def _refund_view(ch: dict[str, Any]) -> dict[str, Any]:
    return {"amount_refunded": ch["amount_refunded"], "refunded": ch["refunded"], "refunds": ch["refunds"]}


async def retrieve_refund(tx: Tx, p: Params, refund_id: str) -> dict[str, Any]:
    return (await tx.get(refund_id, "refund")).data


async def list_refunds(tx: Tx, p: Params) -> dict[str, Any]:
    return await listed(tx, p, "refund", url="/v1/refunds", where=[equal_to(p, "charge", "payment_intent")])


async def update_refund(tx: Tx, p: Params, refund_id: str) -> dict[str, Any]:
    """``POST /v1/refunds/{id}``: metadata; ``charge.refund.updated``."""
    return await update_object(tx, p, refund_id, "refund", "metadata", event="charge.refund.updated")


async def cancel_refund(tx: Tx, p: Params, refund_id: str) -> dict[str, Any]:
    """``POST /v1/refunds/{id}/cancel``: only a pending refund can be canceled, and the fake's never are."""
    refund = (await tx.get(refund_id, "refund")).data
    raise invalid(
        f"Refund {refund_id} cannot be canceled because it has a status of {refund['status']}. Only refunds with "
        "a status of requires_action can be canceled.",
        code="charge_already_refunded",
    )


__all__ = ["cancel_refund", "create_refund", "list_refunds", "retrieve_refund", "update_refund"]
