"""A customer's balance and its transactions (``customer_balance_transaction``, ``cbtxn_…``).

The balance is what the customer owes (positive) or is owed (negative, a credit), in the customer's currency;
each change is a transaction: ``initial`` (a balance given at creation), ``adjustment`` (created through the
API or by setting ``balance``), ``applied_to_invoice`` (finalizing an invoice uses the balance up). Every change
of the balance shows on the customer, so it emits ``customer.updated``.
"""

from __future__ import annotations

import copy
from typing import Any

from remit.processor.fake.errors import INVALID_REQUEST, ApiError, invalid
from remit.processor.fake.ops.common import listed, update_object
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.tx import Tx


def transaction(
    txn_id: str,
    *,
    created: int,
    customer: str,
    amount: int,
    currency: str,
    ending_balance: int,
    type_: str,
    description: str | None = None,
    invoice: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "id": txn_id,
        "object": "customer_balance_transaction",
        "amount": amount,
        "checkout_session": None,
        "created": created,
        "credit_note": None,
        "currency": currency,
        "customer": customer,
        "description": description,
        "ending_balance": ending_balance,
        "invoice": invoice,
        "livemode": False,
        "metadata": metadata or {},
        "type": type_,
    }


async def record(
    tx: Tx,
    customer: dict[str, Any],
    *,
    amount: int,
    currency: str,
    type_: str,
    description: str | None = None,
    invoice: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Add ``amount`` to ``customer``'s balance (in place: the caller saves and announces the customer) and
    keep the transaction."""
    customer["balance"] = int(customer["balance"]) + amount
    customer["currency"] = customer.get("currency") or currency
    data = transaction(
        await tx.new_id("customer_balance_transaction"),
        created=tx.now,
        customer=customer["id"],
        amount=amount,
        currency=currency,
        ending_balance=customer["balance"],
        type_=type_,
        description=description,
        invoice=invoice,
        metadata=metadata,
    )
    return await tx.insert(data)


async def create_transaction(tx: Tx, p: Params, customer_id: str) -> dict[str, Any]:
    """``POST /v1/customers/{id}/balance_transactions``: an adjustment; ``customer.updated``."""
    before = (await tx.get(customer_id, "customer")).data
    currency = p.require_str("currency").lower()
    if before.get("currency") and before["currency"] != currency:
        raise invalid(
            f"The currency of this balance transaction ({currency}) must match the customer's currency "
            f"({before['currency']}).",
            param="currency",
        )
    after = copy.deepcopy(before)
    data = await record(
        tx,
        after,
        amount=int(p.integer("amount") or 0),
        currency=currency,
        type_="adjustment",
        description=p.string("description"),
        metadata=merge_metadata({}, p.raw("metadata")),
    )
    await tx.save(after)
    await tx.emit("customer.updated", after, before=before)
    return data


async def _own(tx: Tx, customer_id: str, txn_id: str) -> dict[str, Any]:
    await tx.get(customer_id, "customer")
    found = await tx.get(txn_id, "customer_balance_transaction")
    if found.data["customer"] != customer_id:
        raise ApiError(
            404,
            INVALID_REQUEST,
            f"No such customer balance transaction: '{txn_id}'",
            code="resource_missing",
            param="id",
        )
    return found.data


async def retrieve_transaction(tx: Tx, p: Params, customer_id: str, txn_id: str) -> dict[str, Any]:
    return await _own(tx, customer_id, txn_id)


async def update_transaction(tx: Tx, p: Params, customer_id: str, txn_id: str) -> dict[str, Any]:
    """``POST /v1/customers/{id}/balance_transactions/{txn}``: description and metadata only (no event: the
    balance does not change)."""
    await _own(tx, customer_id, txn_id)
    return await update_object(tx, p, txn_id, "customer_balance_transaction", "description", "metadata")


async def list_transactions(tx: Tx, p: Params, customer_id: str) -> dict[str, Any]:
    await tx.get(customer_id, "customer")
    invoice = p.string("invoice")
    return await listed(
        tx,
        p,
        "customer_balance_transaction",
        url=f"/v1/customers/{customer_id}/balance_transactions",
        customer=customer_id,
        where=[lambda txn: invoice is None or txn.get("invoice") == invoice],
    )


__all__ = [
    "create_transaction",
    "list_transactions",
    "record",
    "retrieve_transaction",
    "transaction",
    "update_transaction",
]
