"""Invoice items: pending charges the customer's next invoice picks up (create, list, retrieve, update,
delete while still pending)."""

from __future__ import annotations

import copy
from typing import Any

from remit.processor.fake.errors import invalid, parameter_missing
from remit.processor.fake.ops.common import apply_fields, listed
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.shapes import billing as shapes
from remit.processor.fake.tx import Tx


async def _price(tx: Tx, p: Params) -> dict[str, Any] | None:
    """The price an item is for: ``price`` (API versions before basil) or ``pricing[price]``."""
    if p.has("price"):
        return (await tx.get(p.require_str("price"), "price", param="price")).data
    pricing = p.sub("pricing")
    if pricing.has("price"):
        return (await tx.get(pricing.require_str("price"), "price", param="pricing[price]")).data
    return None


async def create_invoiceitem(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/invoiceitems``: a pending item the customer's next invoice picks up; ``invoiceitem.created``."""
    customer = p.require_str("customer")
    await tx.get(customer, "customer", param="customer")
    quantity = p.integer("quantity", 1) or 1
    price = await _price(tx, p)
    if price is not None:
        amount = int(price["unit_amount"]) * quantity
        currency = price["currency"]
    else:
        unit = p.integer("unit_amount")
        amount_given = p.integer("amount")
        if amount_given is None and unit is None:
            raise parameter_missing("amount")
        amount = amount_given if amount_given is not None else int(unit or 0) * quantity
        if not p.has("currency"):
            raise parameter_missing("currency")
        currency = p.require_str("currency").lower()
    subscription = p.string("subscription")
    if subscription:
        await tx.get(subscription, "subscription", param="subscription")
    data = shapes.invoice_item(
        await tx.new_id("invoiceitem"),
        created=tx.now,
        customer=customer,
        amount=amount,
        currency=currency,
        description=p.string("description"),
        price=price,
        quantity=quantity,
        metadata=merge_metadata({}, p.raw("metadata")),
        subscription=subscription,
    )
    period = p.sub("period")
    if period.data:
        data["period"] = {"end": period.integer("end"), "start": period.integer("start")}
    await tx.insert(data)
    await tx.emit("invoiceitem.created", data)
    return data


async def retrieve_invoiceitem(tx: Tx, p: Params, item_id: str) -> dict[str, Any]:
    return (await tx.get(item_id, "invoiceitem")).data


async def list_invoiceitems(tx: Tx, p: Params) -> dict[str, Any]:
    invoice, pending = p.string("invoice"), p.boolean("pending")
    return await listed(
        tx,
        p,
        "invoiceitem",
        url="/v1/invoiceitems",
        customer=p.string("customer"),
        where=[
            lambda item: invoice is None or item["invoice"] == invoice,
            lambda item: pending is None or (item["invoice"] is None) == pending,
        ],
    )


async def _pending(tx: Tx, item_id: str, verb: str) -> dict[str, Any]:
    item = (await tx.get(item_id, "invoiceitem")).data
    if item["invoice"] is not None:
        raise invalid(
            f"You can only {verb} invoice items that are not yet on an invoice (this one is on {item['invoice']}).",
            code="invoice_not_editable",
        )
    return item


async def update_invoiceitem(tx: Tx, p: Params, item_id: str) -> dict[str, Any]:
    """``POST /v1/invoiceitems/{id}``: amount, quantity, description, period, metadata of a pending item;
    ``invoiceitem.updated``."""
    before = await _pending(tx, item_id, "update")
    after = copy.deepcopy(before)
    apply_fields(after, p, "description", "metadata")
    if p.has("quantity"):
        after["quantity"] = p.integer("quantity")
        if after["price"] is not None and not p.has("amount"):
            after["amount"] = int(after["price"]["unit_amount"]) * int(after["quantity"])
    if p.has("amount"):
        after["amount"] = p.integer("amount")
    after["unit_amount"] = int(after["amount"]) // max(int(after["quantity"]), 1)
    after["unit_amount_decimal"] = str(after["unit_amount"])
    period = p.sub("period")
    if period.data:
        after["period"] = {"end": period.integer("end"), "start": period.integer("start")}
    if after != before:
        await tx.save(after)
        await tx.emit("invoiceitem.updated", after, before=before)
    return after


async def delete_invoiceitem(tx: Tx, p: Params, item_id: str) -> dict[str, Any]:
    """``DELETE /v1/invoiceitems/{id}`` (pending items only): ``invoiceitem.deleted``."""
    item = await _pending(tx, item_id, "delete")
    await tx.save(item, deleted=True)
    await tx.emit("invoiceitem.deleted", item)
    return {"id": item_id, "object": "invoiceitem", "deleted": True}


__all__ = [
    "create_invoiceitem",
    "delete_invoiceitem",
    "list_invoiceitems",
    "retrieve_invoiceitem",
    "update_invoiceitem",
]
