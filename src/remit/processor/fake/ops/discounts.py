"""Coupons and the discounts they make: a coupon applied to a customer or a subscription takes a share off the
invoices billed while it lasts.

A coupon is ``percent_off`` or ``amount_off`` (with its ``currency``) for a ``duration``: ``once`` (the next
invoice), ``repeating`` (``duration_in_months``) or ``forever``. Applying one (``coupon``, or ``discounts[][coupon]``)
makes a ``discount`` (``customer.discount.created``); a subscription's discount wins over its customer's.
Billing takes the discount off the invoice's total (``total_discount_amounts``), then a ``once`` discount ends
(``customer.discount.deleted``), as does a ``repeating`` one past its end. ``DELETE …/discount`` removes one.
Promotion codes, per-item and per-price restrictions are not modelled.
"""

from __future__ import annotations

import copy
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from remit.processor.fake.errors import INVALID_REQUEST, ApiError, invalid
from remit.processor.fake.ops.common import apply_fields, listed
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.periods import add_interval
from remit.processor.fake.store import StoredObject
from remit.processor.fake.tx import Tx


def coupon(
    coupon_id: str,
    *,
    created: int,
    percent_off: float | None,
    amount_off: int | None,
    currency: str | None,
    duration: str,
    duration_in_months: int | None,
    max_redemptions: int | None,
    redeem_by: int | None,
    name: str | None,
    metadata: dict[str, str],
) -> dict[str, Any]:
    return {
        "id": coupon_id,
        "object": "coupon",
        "amount_off": amount_off,
        "created": created,
        "currency": currency,
        "duration": duration,
        "duration_in_months": duration_in_months,
        "livemode": False,
        "max_redemptions": max_redemptions,
        "metadata": metadata,
        "name": name,
        "percent_off": percent_off,
        "redeem_by": redeem_by,
        "times_redeemed": 0,
        "valid": True,
    }


async def create_coupon(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/coupons``: ``coupon.created``. ``id`` names it (Stripe lets coupons choose theirs)."""
    percent, amount = p.raw("percent_off"), p.integer("amount_off")
    if (percent is None) == (amount is None):
        raise invalid("You must pass exactly one of percent_off or amount_off.", param="percent_off")
    if percent is not None and not 0 < float(percent) <= 100:
        raise invalid("percent_off must be greater than 0 and at most 100.", param="percent_off")
    if amount is not None and not p.has("currency"):
        raise invalid("You must pass currency when passing amount_off.", param="currency")
    duration = p.string("duration", "once") or "once"
    months = p.integer("duration_in_months")
    if (duration == "repeating") != (months is not None):
        raise invalid("duration_in_months is required when, and only when, duration is repeating.", param="duration")
    coupon_id = p.string("id")
    if coupon_id:
        if await tx.find(coupon_id) is not None:
            raise invalid(f"Coupon already exists: {coupon_id}", param="id", code="resource_already_exists")
    else:
        coupon_id = await tx.new_id("coupon")
    data = coupon(
        coupon_id,
        created=tx.now,
        percent_off=float(percent) if percent is not None else None,
        amount_off=amount,
        currency=(p.string("currency") or "").lower() or None,
        duration=duration,
        duration_in_months=months,
        max_redemptions=p.integer("max_redemptions"),
        redeem_by=p.integer("redeem_by"),
        name=p.string("name"),
        metadata=merge_metadata({}, p.raw("metadata")),
    )
    await tx.insert(data)
    await tx.emit("coupon.created", data)
    return data


async def retrieve_coupon(tx: Tx, p: Params, coupon_id: str) -> dict[str, Any]:
    return (await tx.get(coupon_id, "coupon")).data


async def list_coupons(tx: Tx, p: Params) -> dict[str, Any]:
    return await listed(tx, p, "coupon", url="/v1/coupons")


async def update_coupon(tx: Tx, p: Params, coupon_id: str) -> dict[str, Any]:
    """``POST /v1/coupons/{id}``: name and metadata only; ``coupon.updated``."""
    before = (await tx.get(coupon_id, "coupon")).data
    after = copy.deepcopy(before)
    apply_fields(after, p, "metadata", "name")
    if after != before:
        await tx.save(after)
        await tx.emit("coupon.updated", after, before=before)
    return after


async def delete_coupon(tx: Tx, p: Params, coupon_id: str) -> dict[str, Any]:
    """``DELETE /v1/coupons/{id}``: ``coupon.deleted``; discounts already made from it stay."""
    found = await tx.get(coupon_id, "coupon")
    await tx.save(found.data, deleted=True)
    await tx.emit("coupon.deleted", found.data)
    return {"id": coupon_id, "object": "coupon", "deleted": True}


async def _redeem(tx: Tx, coupon_id: str, param: str) -> dict[str, Any]:
    found = (await tx.get(coupon_id, "coupon", param=param)).data
    redeem_by, limit = found.get("redeem_by"), found.get("max_redemptions")
    if (redeem_by is not None and tx.now > int(redeem_by)) or (
        limit is not None and int(found["times_redeemed"]) >= int(limit)
    ):
        raise invalid(f"Coupon expired: {coupon_id}", param=param, code="coupon_expired")
    after = dict(found, times_redeemed=int(found["times_redeemed"]) + 1)
    after["valid"] = limit is None or after["times_redeemed"] < int(limit)
    await tx.save(after)
    return after


async def make_discount(
    tx: Tx, coupon_id: str, *, customer: str, subscription: str | None = None, param: str = "coupon"
) -> dict[str, Any]:
    """A discount from ``coupon_id`` for the customer (or one of its subscriptions); the caller puts it on the
    object and announces it (``customer.discount.created``) after the object's own event."""
    redeemed = await _redeem(tx, coupon_id, param)
    months = redeemed.get("duration_in_months")
    end = add_interval(tx.now, "month", int(months)) if redeemed["duration"] == "repeating" and months else None
    discount = {
        "id": await tx.new_id("discount"),
        "object": "discount",
        "checkout_session": None,
        "coupon": redeemed,
        "customer": customer,
        "end": end,
        "invoice": None,
        "invoice_item": None,
        "promotion_code": None,
        "start": tx.now,
        "subscription": subscription,
    }
    return discount


def coupon_of(p: Params, param: str = "discounts") -> str | None:
    """The coupon a request applies: ``coupon`` (older API versions) or ``discounts[0][coupon]``; ``None``
    for none. More than one discount, or a promotion code, is not modelled."""
    if p.has("coupon"):
        return p.string("coupon") or None
    entries = p.array(param)
    if not entries:
        return None
    if len(entries) > 1:
        raise ApiError(400, INVALID_REQUEST, "The fake processor takes at most one discount.", param=f"{param}[1]")
    entry = Params(entries[0] if isinstance(entries[0], dict) else {})
    return entry.string("coupon") or None


async def remove(tx: Tx, owner: dict[str, Any]) -> dict[str, Any]:
    """Take ``owner``'s (a customer's or a subscription's) discount off, in place: ``customer.discount.deleted``
    with the discount as it was; Stripe answers the deletion with it, marked deleted."""
    discount = owner.get("discount")
    if not discount:
        kind = owner["object"]
        raise ApiError(
            404,
            INVALID_REQUEST,
            f"No active discount for {kind}: '{owner['id']}'",
            code="resource_missing",
            param=kind,
        )
    owner["discount"] = None
    await tx.emit("customer.discount.deleted", discount)
    return {**discount, "deleted": True}


def amount_off(discount: dict[str, Any], subtotal: int, currency: str) -> int:
    """What ``discount`` takes off a subtotal (never more than it; an amount in another currency: nothing)."""
    found = discount["coupon"]
    if found.get("percent_off") is not None:
        share = Decimal(subtotal) * Decimal(str(found["percent_off"])) / Decimal(100)
        return min(subtotal, int(share.quantize(Decimal(1), rounding=ROUND_HALF_UP)))
    if found.get("currency") != currency:
        return 0
    return min(subtotal, int(found.get("amount_off") or 0))


def lasts_until(discount: dict[str, Any], moment: int) -> bool:
    ends = discount.get("end")
    return ends is None or moment < int(ends)


async def _owner_of(tx: Tx, discount: dict[str, Any]) -> StoredObject:
    if discount.get("subscription"):
        return await tx.get(discount["subscription"], "subscription")
    return await tx.get(discount["customer"], "customer", include_deleted=True)


async def end(tx: Tx, discount: dict[str, Any]) -> None:
    """A discount that is used up or past its end leaves its owner (``customer.discount.deleted``)."""
    owner = await _owner_of(tx, discount)
    data = copy.deepcopy(owner.data)
    if (data.get("discount") or {}).get("id") != discount["id"]:
        return
    await remove(tx, data)
    await tx.save(data)


async def apply_to(tx: Tx, inv: dict[str, Any], customer_id: str, subscription: str | None) -> dict[str, Any] | None:
    """Take the discount that applies off ``inv`` (in place); returns it when it took anything off."""
    candidates: list[dict[str, Any] | None] = []
    if subscription:
        found = await tx.find(subscription)
        if found is not None:
            candidates.append(found.data.get("discount"))
    customer = await tx.get(customer_id, "customer", include_deleted=True)
    candidates.append(customer.data.get("discount"))
    for discount in candidates:
        if not discount:
            continue
        if not lasts_until(discount, tx.now):
            await end(tx, discount)
            continue
        taken = amount_off(discount, int(inv["subtotal"]), inv["currency"])
        if taken == 0:
            return None
        total = int(inv["subtotal"]) - taken
        inv.update(
            discount=discount,
            discounts=[discount["id"]],
            total_discount_amounts=[{"amount": taken, "discount": discount["id"]}],
            total=total,
            amount_due=total,
            amount_remaining=total,
        )
        return discount
    return None


__all__ = [
    "amount_off",
    "apply_to",
    "coupon",
    "coupon_of",
    "create_coupon",
    "delete_coupon",
    "end",
    "lasts_until",
    "list_coupons",
    "make_discount",
    "remove",
    "retrieve_coupon",
    "update_coupon",
]
