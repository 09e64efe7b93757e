"""Customers: create, update, retrieve, list, delete."""

from __future__ import annotations

from typing import Any

from remit.processor.fake.ops import methods
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.shapes import customers as shapes
from remit.processor.fake.store import page
from remit.processor.fake.tx import Tx

_TEXT_FIELDS = ("email", "name", "description", "phone")


async def create_customer(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/customers``: ``customer.created``, then ``payment_method.attached`` for ``payment_method``
    (which may also be named the invoice default, as ``stripe trigger`` does)."""
    to_attach: list[str] = []
    pm_ref = p.string("payment_method")
    if pm_ref:
        to_attach.append((await methods.resolve(tx, pm_ref)).id)
    default_ref = p.sub("invoice_settings").string("default_payment_method")
    default_id: str | None = None
    if default_ref:
        if default_ref == pm_ref:
            default_id = to_attach[0]
        else:
            default_id = (await methods.resolve(tx, default_ref, param="invoice_settings[default_payment_method]")).id
            if default_id not in to_attach:
                to_attach.append(default_id)
    customer_id = await tx.new_id("customer")
    number = int(customer_id.rsplit("fake", 1)[1])
    data = shapes.customer(
        customer_id,
        created=tx.now,
        email=p.string("email"),
        name=p.string("name"),
        description=p.string("description"),
        phone=p.string("phone"),
        metadata=merge_metadata({}, p.raw("metadata")),
        invoice_prefix=f"FAKE{number:04d}",
        address=p.mapping("address") or None,
        default_payment_method=default_id,
    )
    await tx.insert(data)
    await tx.emit("customer.created", data)
    for pm_id in to_attach:
        await methods.attach(tx, pm_id, customer_id)
    return data


async def update_customer(tx: Tx, p: Params, customer_id: str) -> dict[str, Any]:
    """``POST /v1/customers/{id}``: ``customer.updated`` with what changed, when anything did."""
    before = (await tx.get(customer_id, "customer")).data
    after = dict(before)
    for key in _TEXT_FIELDS:
        if key in p.data:
            after[key] = p.string(key) or None
    if "metadata" in p.data:
        after["metadata"] = merge_metadata(before["metadata"], p.raw("metadata"))
    if "address" in p.data:
        after["address"] = p.mapping("address") or None
    settings = p.sub("invoice_settings")
    if "default_payment_method" in settings.data:
        ref = settings.string("default_payment_method") or None
        if ref is not None:
            pm = await tx.get(ref, "payment_method", param="invoice_settings[default_payment_method]")
            if pm.data.get("customer") != customer_id:
                pm = await methods.attach(tx, ref, customer_id)
            ref = pm.id
        after["invoice_settings"] = dict(before["invoice_settings"], default_payment_method=ref)
    if after != before:
        await tx.save(after)
        await tx.emit("customer.updated", after, before=before)
    return after


async def retrieve_customer(tx: Tx, p: Params, customer_id: str) -> dict[str, Any]:
    found = await tx.get(customer_id, "customer", include_deleted=True)
    return shapes.deleted(customer_id, "customer") if found.deleted else found.data


async def list_customers(tx: Tx, p: Params) -> dict[str, Any]:
    email = p.string("email")
    items = [obj.data for obj in await tx.list("customer") if email is None or obj.data.get("email") == email]
    return page(items, url="/v1/customers", limit=p.integer("limit"), starting_after=p.string("starting_after"))


async def delete_customer(tx: Tx, p: Params, customer_id: str) -> dict[str, Any]:
    """``DELETE /v1/customers/{id}``: its live subscriptions end (``customer.subscription.deleted``), then
    ``customer.deleted`` carries the customer as it was."""
    from remit.processor.fake.ops.subscriptions import end_subscription

    customer = await tx.get(customer_id, "customer")
    for sub in await tx.list("subscription", customer=customer_id):
        if sub.data["status"] not in {"canceled", "incomplete_expired"}:
            await end_subscription(tx, sub.data)
    await tx.save(customer.data, deleted=True)
    await tx.emit("customer.deleted", customer.data)
    return shapes.deleted(customer_id, "customer")


__all__ = ["create_customer", "delete_customer", "list_customers", "retrieve_customer", "update_customer"]
