"""Payouts (create, list, retrieve, update metadata, cancel while pending) and the balance transactions every
movement of money leaves (list, retrieve)."""

from __future__ import annotations

from typing import Any

from remit.processor.fake import listing
from remit.processor.fake.errors import invalid, missing
from remit.processor.fake.ops.common import equal_to, listed, update_object
from remit.processor.fake.ops.payments import record_balance_transaction
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.shapes import payments as shapes
from remit.processor.fake.store import find_object, page_objects
from remit.processor.fake.tx import Tx


async def create_payout(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/payouts``: ``payout.created``; the balance goes down by the amount."""
    amount = int(p.integer("amount") or 0)
    if amount <= 0:
        raise invalid("Payouts must be for a positive amount.", param="amount", code="amount_too_small")
    currency = p.require_str("currency").lower()
    payout_id = await tx.new_id("payout")
    txn = await record_balance_transaction(
        tx,
        amount=-amount,
        currency=currency,
        source=payout_id,
        type_="payout",
        description=p.string("description"),
        fee=0,
    )
    data = shapes.payout(
        payout_id,
        created=tx.now,
        amount=amount,
        currency=currency,
        description=p.string("description"),
        balance_transaction=txn["id"],
        metadata=merge_metadata({}, p.raw("metadata")),
    )
    data["method"] = p.string("method", "standard")
    data["statement_descriptor"] = p.string("statement_descriptor")
    await tx.insert(data)
    await tx.emit("payout.created", data)
    return data


async def retrieve_payout(tx: Tx, p: Params, payout_id: str) -> dict[str, Any]:
    return (await tx.get(payout_id, "payout")).data


async def list_payouts(tx: Tx, p: Params) -> dict[str, Any]:
    return await listed(tx, p, "payout", url="/v1/payouts", where=[equal_to(p, "status")])


async def update_payout(tx: Tx, p: Params, payout_id: str) -> dict[str, Any]:
    """``POST /v1/payouts/{id}``: metadata; ``payout.updated``."""
    return await update_object(tx, p, payout_id, "payout", "metadata", event="payout.updated")


async def cancel_payout(tx: Tx, p: Params, payout_id: str) -> dict[str, Any]:
    """``POST /v1/payouts/{id}/cancel`` (pending payouts only): ``payout.canceled``; the money is back."""
    before = (await tx.get(payout_id, "payout")).data
    if before["status"] != "pending":
        raise invalid(
            f"Payouts can only be canceled while they are pending (this one is {before['status']}).",
            code="payout_not_cancelable",
        )
    txn = await record_balance_transaction(
        tx,
        amount=int(before["amount"]),
        currency=before["currency"],
        source=payout_id,
        type_="payout_cancel",
        description=before["description"],
        fee=0,
    )
    after = dict(before, status="canceled", failure_balance_transaction=txn["id"])
    await tx.save(after)
    await tx.emit("payout.canceled", after, before=before)
    return after


async def retrieve_balance_transaction(tx: Tx, p: Params, txn_id: str) -> dict[str, Any]:
    return (await tx.get(txn_id, "balance_transaction")).data


async def list_balance_transactions(tx: Tx, p: Params) -> dict[str, Any]:
    """``GET /v1/balance_transactions`` (by ``type``, ``source``, ``currency``, ``payout``, ``created``).

    Paged in the database when only ``created`` and ``starting_after`` narrow it (how remit's fee reconciler
    reads a year of them, a hundred a call); otherwise filtered over the whole list."""
    if not any(p.raw(name) for name in ("type", "source", "currency", "payout", "ending_before")):
        return await _paged_balance_transactions(tx, p)
    payout = p.string("payout")
    return await listed(
        tx,
        p,
        "balance_transaction",
        url="/v1/balance_transactions",
        where=[equal_to(p, "type", "source", "currency"), lambda txn: payout is None or txn["source"] == payout],
    )


async def _paged_balance_transactions(tx: Tx, p: Params) -> dict[str, Any]:
    limit = listing.limit_of(p)
    raw = p.raw("created")
    bounds: dict[str, int | None] = {"gte": None, "gt": None, "lte": None, "lt": None}
    if isinstance(raw, dict):
        sub = p.sub("created")
        bounds = {key: sub.integer(key) for key in bounds}
    elif raw not in (None, ""):
        exact = p.integer("created")
        bounds = {"gte": exact, "gt": None, "lte": exact, "lt": None}
    after = None
    cursor = p.string("starting_after")
    if cursor:
        found = await find_object(tx.conn, cursor)
        if found is None or found.object != "balance_transaction":
            raise missing("balance_transaction", cursor, "starting_after")
        after = (found.created, found.id)
    rows = await page_objects(tx.conn, "balance_transaction", limit=limit + 1, after=after, **bounds)
    data = [row.data for row in rows[:limit]]
    return {"object": "list", "data": data, "has_more": len(rows) > limit, "url": "/v1/balance_transactions"}


__all__ = [
    "cancel_payout",
    "create_payout",
    "list_balance_transactions",
    "list_payouts",
    "retrieve_balance_transaction",
    "retrieve_payout",
    "update_payout",
]
