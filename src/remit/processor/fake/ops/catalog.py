"""Products and prices (a recurring price is also announced as a plan, as Stripe does).

A price's ``currency_options`` (its amounts in other currencies) are kept with it and shown, as at Stripe,
only when asked for with ``expand[]=currency_options`` (``data.currency_options`` in a list), its own currency
included; what the fake bills is always in the price's own currency (subscriptions take no ``currency``).
"""

from __future__ import annotations

import copy
from typing import Any

from remit.processor.fake.errors import INVALID_REQUEST, ApiError, invalid, parameter_missing
from remit.processor.fake.ops.common import apply_fields, equal_to, listed, searched
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.shapes import catalog as shapes
from remit.processor.fake.tx import Tx

INTERVALS = {"day", "week", "month", "year"}
#: Product fields a create or an update copies as given.
_PRODUCT_FIELDS = ("description", "images", "shippable", "statement_descriptor", "tax_code", "unit_label", "url")


async def create_product(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/products``: ``product.created``. ``id`` names it (Stripe lets products choose theirs)."""
    product_id = p.string("id")
    if product_id:
        if await tx.find(product_id) is not None:
            raise invalid(f"Product already exists: {product_id}", param="id", code="resource_already_exists")
    else:
        product_id = await tx.new_id("product")
    data = shapes.product(
        product_id,
        created=tx.now,
        name=p.require_str("name"),
        description=None,
        active=p.boolean("active", True) is not False,
        metadata=merge_metadata({}, p.raw("metadata")),
    )
    apply_fields(data, p, *_PRODUCT_FIELDS)
    await tx.insert(data)
    await tx.emit("product.created", data)
    return data


async def update_product(tx: Tx, p: Params, product_id: str) -> dict[str, Any]:
    """``POST /v1/products/{id}``: ``product.updated`` with what changed."""
    before = (await tx.get(product_id, "product")).data
    after = copy.deepcopy(before)
    apply_fields(after, p, "name", "metadata", "active", *_PRODUCT_FIELDS)
    if p.has("default_price"):
        price = (await tx.get(p.require_str("default_price"), "price", param="default_price")).data
        if price["product"] != product_id:
            raise invalid("The default price must belong to this product.", param="default_price")
        after["default_price"] = price["id"]
    if after != before:
        after["updated"] = tx.now
        await tx.save(after)
        await tx.emit("product.updated", after, before=before)
    return after


async def retrieve_product(tx: Tx, p: Params, product_id: str) -> dict[str, Any]:
    return (await tx.get(product_id, "product")).data


async def list_products(tx: Tx, p: Params) -> dict[str, Any]:
    ids = set(p.strings("ids"))
    return await listed(
        tx,
        p,
        "product",
        url="/v1/products",
        where=[equal_to(p, "active", "shippable", "url"), lambda product: not ids or product["id"] in ids],
    )


async def search_products(tx: Tx, p: Params) -> dict[str, Any]:
    return await searched(tx, p, "product", "products")


async def delete_product(tx: Tx, p: Params, product_id: str) -> dict[str, Any]:
    """``DELETE /v1/products/{id}``: ``product.deleted``; a product with prices cannot be deleted (archive it
    with ``active=false``), as at Stripe."""
    found = await tx.get(product_id, "product")
    if any(price.data["product"] == product_id for price in await tx.list("price")):
        raise ApiError(
            400,
            INVALID_REQUEST,
            "This product cannot be deleted because it has one or more user-created prices.",
            code="product_has_prices",
        )
    await tx.save(found.data, deleted=True)
    await tx.emit("product.deleted", found.data)
    return {"id": product_id, "object": "product", "deleted": True}


async def create_price(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/prices``: ``price.created`` (and ``plan.created`` when recurring)."""
    product_id = p.string("product")
    if product_id:
        await tx.get(product_id, "product", param="product")
    else:
        product_data = p.sub("product_data")
        if not product_data.data:
            raise invalid("You must specify either product or product_data.", param="product")
        product = await create_product(tx, product_data)
        product_id = product["id"]
    unit_amount = p.integer("unit_amount")
    if unit_amount is None or unit_amount < 0:
        raise invalid("unit_amount must be a non-negative integer", param="unit_amount")
    recurring_ = None
    rec = p.sub("recurring")
    if rec.data:
        interval = rec.require_str("interval")
        if interval not in INTERVALS:
            raise invalid(f"Invalid recurring[interval]: {interval}", param="recurring[interval]")
        recurring_ = shapes.recurring(
            interval, rec.integer("interval_count", 1) or 1, rec.string("usage_type", "licensed") or "licensed"
        )
        if rec.has("trial_period_days"):
            recurring_["trial_period_days"] = rec.integer("trial_period_days")
    lookup_key = p.string("lookup_key")
    if lookup_key:
        await _claim_lookup_key(tx, lookup_key, transfer=bool(p.boolean("transfer_lookup_key")))
    data = shapes.price(
        await tx.new_id("price"),
        created=tx.now,
        product=product_id,
        currency=(p.string("currency") or "usd").lower(),
        unit_amount=unit_amount,
        recurring_=recurring_,
        nickname=p.string("nickname"),
        lookup_key=lookup_key,
        active=p.boolean("active", True) is not False,
        metadata=merge_metadata({}, p.raw("metadata")),
    )
    apply_fields(data, p, "tax_behavior")
    options = _currency_options(p, data["currency"])
    await tx.insert(data, {"currency_options": options} if options else None)
    await tx.emit("price.created", data)
    legacy_plan = shapes.plan(data)
    if legacy_plan is not None:
        await tx.emit("plan.created", legacy_plan)
    return _included(p, data, options)


def _currency_options(p: Params, currency: str) -> dict[str, dict[str, Any]]:
    """The other currencies' amounts as given: each a currency other than the price's own, with its amount."""
    options: dict[str, dict[str, Any]] = {}
    raw = p.raw("currency_options") or {}
    for key in sorted(raw):
        option, name = p.sub("currency_options").sub(key), f"currency_options[{key}]"
        code = key.lower()
        if len(code) != 3 or not code.isalpha():
            raise invalid(f"Invalid currency: {key}", param=name)
        if code == currency:
            raise invalid(
                f"currency_options cannot include the price's own currency ({currency}); set unit_amount.", param=name
            )
        amount = option.integer("unit_amount")
        if amount is None:
            raise parameter_missing(f"{name}[unit_amount]")
        if amount < 0:
            raise invalid("unit_amount must be a non-negative integer", param=f"{name}[unit_amount]")
        options[code] = shapes.currency_option(amount, option.string("tax_behavior") or "unspecified")
    return options


def _included(p: Params, price: dict[str, Any], options: dict[str, dict[str, Any]], path: str = "") -> dict[str, Any]:
    """The price with its ``currency_options`` when ``expand[]`` asks for them (its own currency first)."""
    if f"{path}currency_options" not in p.strings("expand"):
        return price
    own = shapes.currency_option(price["unit_amount"], price.get("tax_behavior") or "unspecified")
    return {**price, "currency_options": {price["currency"]: own, **options}}


async def _claim_lookup_key(tx: Tx, lookup_key: str, *, transfer: bool) -> None:
    """A lookup key names one price: taking it from another needs ``transfer_lookup_key``."""
    for price in await tx.list("price"):
        if price.data.get("lookup_key") != lookup_key:
            continue
        if not transfer:
            raise invalid(
                f"A price (`{price.id}`) already uses that lookup key.",
                param="lookup_key",
                code="lookup_key_already_exists",
            )
        before = price.data
        after = dict(before, lookup_key=None)
        await tx.save(after)
        await tx.emit("price.updated", after, before=before)


async def update_price(tx: Tx, p: Params, price_id: str) -> dict[str, Any]:
    """``POST /v1/prices/{id}``: active, nickname, lookup key, tax behaviour, metadata; ``price.updated``
    (and ``plan.updated`` for a recurring price). Amounts and intervals never change: make a new price."""
    found = await tx.get(price_id, "price")
    before = found.data
    if p.string("lookup_key") and p.string("lookup_key") != before.get("lookup_key"):
        await _claim_lookup_key(tx, p.require_str("lookup_key"), transfer=bool(p.boolean("transfer_lookup_key")))
    after = copy.deepcopy(before)
    apply_fields(after, p, "active", "lookup_key", "metadata", "nickname", "tax_behavior")
    if after != before:
        await tx.save(after)
        await tx.emit("price.updated", after, before=before)
        plan_before, plan_after = shapes.plan(before), shapes.plan(after)
        if plan_before is not None and plan_after is not None:
            await tx.emit("plan.updated", plan_after, before=plan_before)
    return _included(p, after, found.private.get("currency_options") or {})


async def retrieve_price(tx: Tx, p: Params, price_id: str) -> dict[str, Any]:
    found = await tx.get(price_id, "price")
    return _included(p, found.data, found.private.get("currency_options") or {})


async def list_prices(tx: Tx, p: Params) -> dict[str, Any]:
    lookup_keys = set(p.strings("lookup_keys"))
    answer = await listed(
        tx,
        p,
        "price",
        url="/v1/prices",
        where=[
            equal_to(p, "active", "currency", "product", "type"),
            lambda price: not lookup_keys or price.get("lookup_key") in lookup_keys,
        ],
    )
    return await _each_included(tx, p, answer)


async def _each_included(tx: Tx, p: Params, answer: dict[str, Any]) -> dict[str, Any]:
    """A list or search result of prices, each with its ``currency_options`` when asked for."""
    if "data.currency_options" in p.strings("expand"):
        options = {found.id: found.private.get("currency_options") or {} for found in await tx.list("price")}
        answer["data"] = [_included(p, price, options.get(price["id"], {}), "data.") for price in answer["data"]]
    return answer


async def search_prices(tx: Tx, p: Params) -> dict[str, Any]:
    return await _each_included(tx, p, await searched(tx, p, "price", "prices"))


__all__ = [
    "create_price",
    "create_product",
    "delete_product",
    "list_prices",
    "list_products",
    "retrieve_price",
    "retrieve_product",
    "search_prices",
    "search_products",
    "update_price",
    "update_product",
]
