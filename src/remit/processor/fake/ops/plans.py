"""Plans, the legacy face of recurring prices: create, list, retrieve, update, delete.

As at Stripe, a plan is a recurring price under another name (the same id): creating one makes the price
(``price.created``, ``plan.created``), a one-time price is no plan (Stripe's 404), updating one updates the price
(``plan.updated``), and a plan can be deleted — no new subscription can use it, those it bills carry on
(``plan.deleted``; the price stays, archived). A plan's product is an existing one or made from ``product[name]``.
Not modelled: tiers, ``transform_usage``, ``amount_decimal`` below a cent.
"""

from __future__ import annotations

import copy
from typing import Any

from remit.processor.fake import listing
from remit.processor.fake.errors import INVALID_REQUEST, ApiError, invalid
from remit.processor.fake.ops import catalog
from remit.processor.fake.ops.common import equal_to
from remit.processor.fake.params import Params
from remit.processor.fake.schema import unknown
from remit.processor.fake.shapes import catalog as shapes
from remit.processor.fake.tx import Tx

#: What ``product`` takes when it makes the plan's product (else it is a product's id).
_PRODUCT_KEYS = {"active", "id", "metadata", "name", "statement_descriptor", "tax_code", "unit_label"}


def _no_such_plan(plan_id: str) -> ApiError:
    return ApiError(404, INVALID_REQUEST, f"No such plan: '{plan_id}'", code="resource_missing", param="plan")


async def _price_of(tx: Tx, plan_id: str) -> dict[str, Any]:
    found = await tx.find(plan_id)
    if (
        found is None
        or found.object != "price"
        or found.deleted
        or not found.data.get("recurring")
        or found.private.get("plan_deleted")
    ):
        raise _no_such_plan(plan_id)
    return found.data


def _as_plan(price: dict[str, Any]) -> dict[str, Any]:
    made = shapes.plan(price)
    assert made is not None  # a plan's price is recurring
    return made


async def create_plan(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/plans``: a recurring price by its legacy name; ``price.created`` and ``plan.created``."""
    product: dict[str, Any] = {}
    raw_product = p.raw("product")
    if isinstance(raw_product, str):
        product["product"] = raw_product
    elif isinstance(raw_product, dict):
        for key in raw_product:
            if key not in _PRODUCT_KEYS:
                raise unknown(f"product[{key}]")
        product["product_data"] = raw_product
    else:
        raise invalid("Missing required param: product.", param="product", code="parameter_missing")
    amount = p.integer("amount")
    if amount is None:
        raise invalid("Missing required param: amount.", param="amount", code="parameter_missing")
    recurring = {
        "interval": p.require_str("interval"),
        "interval_count": p.integer("interval_count", 1),
        "usage_type": p.string("usage_type", "licensed"),
    }
    if p.has("trial_period_days"):
        recurring["trial_period_days"] = p.integer("trial_period_days")
    price = await catalog.create_price(
        tx,
        Params(
            {
                **product,
                "unit_amount": amount,
                "currency": p.require_str("currency"),
                "recurring": recurring,
                "nickname": p.string("nickname"),
                "metadata": p.raw("metadata"),
                "active": p.boolean("active", True),
            }
        ),
    )
    return _as_plan(price)


async def retrieve_plan(tx: Tx, p: Params, plan_id: str) -> dict[str, Any]:
    return _as_plan(await _price_of(tx, plan_id))


async def list_plans(tx: Tx, p: Params) -> dict[str, Any]:
    """``GET /v1/plans``: every recurring price as a plan, newest first."""
    prices = [
        obj.data for obj in await tx.list("price") if obj.data.get("recurring") and not obj.private.get("plan_deleted")
    ]
    plans = [plan for plan in (_as_plan(price) for price in prices) if equal_to(p, "active", "product")(plan)]
    return listing.page(plans, p, url="/v1/plans", object_type="plan")


async def update_plan(tx: Tx, p: Params, plan_id: str) -> dict[str, Any]:
    """``POST /v1/plans/{id}``: active, nickname, metadata, trial days; ``price.updated`` and ``plan.updated``."""
    price = await _price_of(tx, plan_id)
    changes = {key: p.raw(key) for key in ("active", "metadata", "nickname") if p.has(key)}
    updated = await catalog.update_price(tx, Params(changes), price["id"]) if changes else price
    if p.has("trial_period_days"):
        before = copy.deepcopy(updated)
        updated["recurring"]["trial_period_days"] = p.integer("trial_period_days")
        if updated != before:
            await tx.save(updated)
            await tx.emit("plan.updated", _as_plan(updated), before=_as_plan(before))
    return _as_plan(updated)


async def delete_plan(tx: Tx, p: Params, plan_id: str) -> dict[str, Any]:
    """``DELETE /v1/plans/{id}``: ``plan.deleted``; the price is archived, its subscriptions carry on."""
    price = await _price_of(tx, plan_id)
    found = await tx.get(plan_id, "price")
    archived = dict(price, active=False)
    await tx.save(archived, {**found.private, "plan_deleted": True})
    if price["active"]:
        await tx.emit("price.updated", archived, before=price)
    await tx.emit("plan.deleted", _as_plan(archived))
    return {"id": plan_id, "object": "plan", "deleted": True}


__all__ = ["create_plan", "delete_plan", "list_plans", "retrieve_plan", "update_plan"]
