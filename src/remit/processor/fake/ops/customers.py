"""Customers: create, update, retrieve, list, search, delete, and the customer's own sub-resources that do not
have a module of their own (its payment methods, its discount, its cash balance — never funded: bank transfers
are not modelled)."""

from __future__ import annotations

import copy
import re
from typing import Any

from remit.processor.fake.errors import INVALID_REQUEST, ApiError, invalid
from remit.processor.fake.ops import balances, discounts, methods, tax_ids
from remit.processor.fake.ops.common import apply_fields, equal_to, listed, searched
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.shapes import customers as shapes
from remit.processor.fake.tx import Tx

#: Fields a create or an update copies as given ("" unsets the ones Stripe lets you unset).
_FIELDS = ("description", "email", "name", "phone", "preferred_locales", "tax_exempt")
_INVOICE_PREFIX = re.compile(r"^[A-Z0-9]{3,12}$")


def _check_prefix(p: Params) -> None:
    prefix = p.string("invoice_prefix")
    if prefix is not None and not _INVOICE_PREFIX.match(prefix):
        raise invalid("Invoice prefix must be between 3 and 12 uppercase letters and numbers.", param="invoice_prefix")


def _apply_shared(after: dict[str, Any], p: Params) -> None:
    """What create and update both set straight from the parameters."""
    apply_fields(after, p, *_FIELDS, "invoice_prefix", "next_invoice_sequence")
    if "address" in p.data:
        after["address"] = _address(p.raw("address"))
    if "shipping" in p.data:
        shipping = p.raw("shipping")
        after["shipping"] = (
            None
            if shipping == ""
            else {
                "address": _address(shipping.get("address")),
                "name": shipping.get("name"),
                "phone": shipping.get("phone"),
            }
        )
    settings = p.sub("invoice_settings")
    current = dict(after["invoice_settings"])
    for key in ("custom_fields", "footer", "rendering_options"):
        if key in settings.data:
            current[key] = settings.raw(key) or None
    after["invoice_settings"] = current


def _address(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {key: value.get(key) for key in shapes.EMPTY_ADDRESS}


async def create_customer(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/customers``: ``customer.created``; then ``customer.source.created`` for ``source``,
    ``payment_method.attached`` for ``payment_method`` (which may also be named the invoice default, as
    ``stripe trigger`` does) and ``customer.tax_id.created`` for each ``tax_id_data``."""
    _check_prefix(p)
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
    for raw in p.array("tax_id_data"):
        tax_ids.check(Params(raw), param="tax_id_data")
    source = p.string("source")
    card = methods.source_card(source) if source else None
    customer_id = await tx.new_id("customer")
    number = int(customer_id.rsplit("fake", 1)[1])
    data = shapes.customer(
        customer_id,
        created=tx.now,
        email=None,
        name=None,
        description=None,
        phone=None,
        metadata=merge_metadata({}, p.raw("metadata")),
        invoice_prefix=f"FAKE{number:04d}",
        default_payment_method=default_id,
    )
    _apply_shared(data, p)
    opening = p.integer("balance") or 0
    data["balance"] = opening
    source_id = await tx.new_id("card") if card is not None else None
    data["default_source"] = source_id
    coupon_id = discounts.coupon_of(p)
    if coupon_id:
        data["discount"] = await discounts.make_discount(tx, coupon_id, customer=customer_id)
    await tx.insert(data)
    await tx.emit("customer.created", data)
    if data["discount"]:
        await tx.emit("customer.discount.created", data["discount"])
    if card is not None and source_id is not None:
        await methods.add_source(tx, customer_id, card, source_id=source_id)
    if opening:
        await balances.record(tx, data, amount=opening, currency=data.get("currency") or "usd", type_="initial")
    for pm_id in to_attach:
        await methods.attach(tx, pm_id, customer_id)
    for raw in p.array("tax_id_data"):
        await tax_ids.add(tx, customer_id, Params(raw))
    return (await tx.get(customer_id, "customer")).data


async def update_customer(tx: Tx, p: Params, customer_id: str) -> dict[str, Any]:
    """``POST /v1/customers/{id}``: ``customer.updated`` with what changed, when anything did (a new
    ``source`` first makes its ``customer.source.created``; a ``balance`` change is recorded as an adjustment
    in the customer's balance transactions)."""
    _check_prefix(p)
    before = (await tx.get(customer_id, "customer")).data
    if p.string("source"):
        card = methods.source_card(p.require_str("source"))
        await methods.add_source(tx, customer_id, card, make_default=True)
        before = (await tx.get(customer_id, "customer")).data
    after = copy.deepcopy(before)
    _apply_shared(after, p)
    if "metadata" in p.data:
        after["metadata"] = merge_metadata(before["metadata"], p.raw("metadata"))
    settings = p.sub("invoice_settings")
    if "default_payment_method" in settings.data:
        ref = settings.string("default_payment_method") or None
        if ref is not None:
            pm = await tx.get(ref, "payment_method", param="invoice_settings[default_payment_method]")
            if pm.data.get("customer") != customer_id:
                pm = await methods.attach(tx, ref, customer_id)
            ref = pm.id
        after["invoice_settings"] = dict(after["invoice_settings"], default_payment_method=ref)
    if p.has("default_source"):
        source = await methods.own_source(tx, customer_id, p.require_str("default_source"), param="default_source")
        after["default_source"] = source["id"]
    if "coupon" in p.data:
        if before.get("discount"):
            await discounts.remove(tx, after)
        coupon_id = discounts.coupon_of(p)
        if coupon_id:
            after["discount"] = await discounts.make_discount(tx, coupon_id, customer=customer_id)
            await tx.emit("customer.discount.created", after["discount"])
    if p.has("balance") and p.integer("balance") != before["balance"]:
        change = int(p.integer("balance") or 0) - int(before["balance"])
        await balances.record(tx, after, amount=change, currency=after.get("currency") or "usd", type_="adjustment")
    if after != before:
        await tx.save(after)
        await tx.emit("customer.updated", after, before=before)
    return after


async def retrieve_customer(tx: Tx, p: Params, customer_id: str) -> dict[str, Any]:
    found = await tx.get(customer_id, "customer", include_deleted=True)
    return shapes.deleted(customer_id, "customer") if found.deleted else found.data


async def list_customers(tx: Tx, p: Params) -> dict[str, Any]:
    return await listed(tx, p, "customer", url="/v1/customers", where=[equal_to(p, "email")])


async def search_customers(tx: Tx, p: Params) -> dict[str, Any]:
    return await searched(tx, p, "customer", "customers")


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


async def delete_discount(tx: Tx, p: Params, customer_id: str) -> dict[str, Any]:
    """``DELETE /v1/customers/{id}/discount``: ``customer.discount.deleted``, ``customer.updated``; a customer
    without a discount is Stripe's 404."""
    before = (await tx.get(customer_id, "customer")).data
    after = copy.deepcopy(before)
    removed = await discounts.remove(tx, after)
    await tx.save(after)
    await tx.emit("customer.updated", after, before=before)
    return removed


async def list_payment_methods(tx: Tx, p: Params, customer_id: str) -> dict[str, Any]:
    """``GET /v1/customers/{id}/payment_methods``: the customer's payment methods (of ``type``)."""
    await tx.get(customer_id, "customer")
    return await listed(
        tx,
        p,
        "payment_method",
        url=f"/v1/customers/{customer_id}/payment_methods",
        customer=customer_id,
        where=[equal_to(p, "type")],
    )


async def retrieve_payment_method(tx: Tx, p: Params, customer_id: str, pm_id: str) -> dict[str, Any]:
    await tx.get(customer_id, "customer")
    pm = await tx.get(pm_id, "payment_method")
    if pm.data.get("customer") != customer_id:
        raise ApiError(
            404,
            INVALID_REQUEST,
            f"Customer {customer_id} does not have a payment method with ID {pm_id}",
            code="resource_missing",
            param="payment_method",
        )
    return pm.data


def _cash_balance(customer_id: str, settings: dict[str, Any] | None) -> dict[str, Any]:
    mode = (settings or {}).get("reconciliation_mode", "merchant_default")
    return {
        "object": "cash_balance",
        "available": None,
        "customer": customer_id,
        "livemode": False,
        "settings": {
            "reconciliation_mode": "automatic" if mode == "merchant_default" else mode,
            "using_merchant_default": mode == "merchant_default",
        },
    }


async def retrieve_cash_balance(tx: Tx, p: Params, customer_id: str) -> dict[str, Any]:
    """``GET /v1/customers/{id}/cash_balance``: nothing is ever funded in the fake (bank transfers are not
    modelled), so ``available`` is empty; the settings are the customer's."""
    found = await tx.get(customer_id, "customer")
    return _cash_balance(customer_id, found.private.get("cash_balance"))


async def update_cash_balance(tx: Tx, p: Params, customer_id: str) -> dict[str, Any]:
    """``POST /v1/customers/{id}/cash_balance``: how funds would be reconciled (no event, as at Stripe)."""
    found = await tx.get(customer_id, "customer")
    settings = dict(found.private.get("cash_balance") or {})
    mode = p.sub("settings").string("reconciliation_mode")
    if mode is not None:
        settings["reconciliation_mode"] = mode
        await tx.save(found.data, dict(found.private, cash_balance=settings))
    return _cash_balance(customer_id, settings)


async def create_funding_instructions(tx: Tx, p: Params, customer_id: str) -> dict[str, Any]:
    """``POST /v1/customers/{id}/funding_instructions``: bank transfers are not modelled, and the fake has no
    bank details to give; a 400 says so rather than invent them."""
    await tx.get(customer_id, "customer")
    raise ApiError(
        400,
        INVALID_REQUEST,
        f"Funding instructions are not available for customer {customer_id}: the fake processor does not model "
        "bank transfers into a customer's cash balance.",
    )


__all__ = [
    "create_customer",
    "create_funding_instructions",
    "delete_customer",
    "delete_discount",
    "list_customers",
    "list_payment_methods",
    "retrieve_cash_balance",
    "retrieve_customer",
    "retrieve_payment_method",
    "search_customers",
    "update_cash_balance",
    "update_customer",
]
