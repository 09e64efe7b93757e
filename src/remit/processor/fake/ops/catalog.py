"""Products and prices (a recurring price is also announced as a plan, as Stripe does)."""

from __future__ import annotations

from typing import Any

from remit.processor.fake.errors import invalid
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.shapes import catalog as shapes
from remit.processor.fake.store import page
from remit.processor.fake.tx import Tx

INTERVALS = {"day", "week", "month", "year"}


async def create_product(tx: Tx, p: Params) -> dict[str, Any]:
    data = shapes.product(
        await tx.new_id("product"),
        created=tx.now,
        name=p.require_str("name"),
        description=p.string("description"),
        active=p.boolean("active", True) is not False,
        metadata=merge_metadata({}, p.raw("metadata")),
    )
    await tx.insert(data)
    await tx.emit("product.created", data)
    return data


async def update_product(tx: Tx, p: Params, product_id: str) -> dict[str, Any]:
    before = (await tx.get(product_id, "product")).data
    after = dict(before, metadata=merge_metadata(before["metadata"], p.raw("metadata")))
    for key in ("name", "description"):
        if key in p.data:
            after[key] = p.string(key)
    if "active" in p.data:
        after["active"] = bool(p.boolean("active"))
    if after != before:
        after["updated"] = tx.now
        await tx.save(after)
        await tx.emit("product.updated", after, before=before)
    return after


async def retrieve_product(tx: Tx, p: Params, product_id: str) -> dict[str, Any]:
    return (await tx.get(product_id, "product")).data


async def create_price(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/prices``: ``price.created`` (and ``plan.created`` when recurring)."""
    product_id = p.string("product")
    if product_id:
        await tx.get(product_id, "product", param="product")
    else:
        product_data = p.sub("product_data")
        product = await create_product(
            tx, Params({"name": product_data.require_str("name"), "metadata": product_data.raw("metadata")})
        )
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
    data = shapes.price(
        await tx.new_id("price"),
        created=tx.now,
        product=product_id,
        currency=(p.string("currency") or "usd").lower(),
        unit_amount=unit_amount,
        recurring_=recurring_,
        nickname=p.string("nickname"),
        lookup_key=p.string("lookup_key"),
        active=p.boolean("active", True) is not False,
        metadata=merge_metadata({}, p.raw("metadata")),
    )
    await tx.insert(data)
    await tx.emit("price.created", data)
    legacy_plan = shapes.plan(data)
    if legacy_plan is not None:
        await tx.emit("plan.created", legacy_plan)
    return data


async def retrieve_price(tx: Tx, p: Params, price_id: str) -> dict[str, Any]:
    return (await tx.get(price_id, "price")).data


async def list_prices(tx: Tx, p: Params) -> dict[str, Any]:
    product = p.string("product")
    items = [obj.data for obj in await tx.list("price") if product is None or obj.data["product"] == product]
    return page(items, url="/v1/prices", limit=p.integer("limit"), starting_after=p.string("starting_after"))


__all__ = ["create_price", "create_product", "list_prices", "retrieve_price", "retrieve_product", "update_product"]
