"""Shipping rates (``shr_…``): create, list, retrieve, update (``active``, ``metadata``, ``tax_behavior``) — and
what a checkout session in payment mode makes of them.

As at Stripe: a rate is ``fixed_amount`` (an amount in one currency), named by ``display_name``, optionally
with a delivery estimate; it cannot be deleted, only archived (``active=false``), and an archived rate cannot
be offered. A checkout session takes up to five ``shipping_options`` (an existing ``shipping_rate`` or
``shipping_rate_data``, which makes a rate), in the session's currency; the first is selected, and its amount
is added to what the customer pays (``total_details.amount_shipping``). Stripe emits no events for rates.
Not modelled: rates' ``currency_options`` and tax codes, shipping in subscription mode.
"""

from __future__ import annotations

import copy
from typing import Any

from remit.processor.fake.errors import invalid, parameter_missing
from remit.processor.fake.ops.common import apply_fields, equal_to, listed
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.tx import Tx

MAX_OPTIONS = 5
TAX_BEHAVIORS = ("exclusive", "inclusive", "unspecified")
DELIVERY_UNITS = ("business_day", "day", "hour", "month", "week")


def _estimate(p: Params) -> dict[str, Any] | None:
    if not p.has("delivery_estimate"):
        return None
    estimate = p.sub("delivery_estimate")
    bounds: dict[str, Any] = {}
    for bound in ("maximum", "minimum"):
        given = estimate.sub(bound)
        bounds[bound] = (
            {"unit": given.require_str("unit"), "value": given.integer("value")} if estimate.has(bound) else None
        )
    return bounds


async def new_rate(tx: Tx, p: Params, *, param: str = "") -> dict[str, Any]:
    """A shipping rate from ``p`` (the create parameters, or a checkout option's ``shipping_rate_data``)."""
    prefix = f"{param}[" if param else ""
    suffix = "]" if param else ""
    display_name = p.string("display_name")
    if not display_name:
        raise parameter_missing(f"{prefix}display_name{suffix}")
    kind = p.string("type", "fixed_amount") or "fixed_amount"
    fixed = p.sub("fixed_amount")
    if not p.has("fixed_amount"):
        raise parameter_missing(f"{prefix}fixed_amount{suffix}")
    amount = fixed.integer("amount")
    if amount is None:
        raise parameter_missing(f"{prefix}fixed_amount{suffix}[amount]")
    if amount < 0:
        raise invalid("The shipping amount must be zero or more.", param=f"{prefix}fixed_amount{suffix}[amount]")
    data = {
        "id": await tx.new_id("shipping_rate"),
        "object": "shipping_rate",
        "active": True,
        "created": tx.now,
        "delivery_estimate": _estimate(p),
        "display_name": display_name,
        "fixed_amount": {"amount": amount, "currency": fixed.require_str("currency").lower()},
        "livemode": False,
        "metadata": merge_metadata({}, p.raw("metadata")),
        "tax_behavior": p.string("tax_behavior", "unspecified"),
        "tax_code": None,
        "type": kind,
    }
    await tx.insert(data)
    return data


async def create_shipping_rate(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/shipping_rates``."""
    return await new_rate(tx, p)


async def retrieve_shipping_rate(tx: Tx, p: Params, rate_id: str) -> dict[str, Any]:
    return (await tx.get(rate_id, "shipping_rate")).data


async def list_shipping_rates(tx: Tx, p: Params) -> dict[str, Any]:
    currency = (p.string("currency") or "").lower() or None
    return await listed(
        tx,
        p,
        "shipping_rate",
        url="/v1/shipping_rates",
        where=[
            equal_to(p, "active"),
            lambda rate: currency is None or rate["fixed_amount"]["currency"] == currency,
        ],
    )


async def update_shipping_rate(tx: Tx, p: Params, rate_id: str) -> dict[str, Any]:
    """``POST /v1/shipping_rates/{id}``: archive or restore it, its metadata and tax behaviour."""
    before = (await tx.get(rate_id, "shipping_rate")).data
    after = copy.deepcopy(before)
    apply_fields(after, p, "metadata", "tax_behavior")
    if p.has("active"):
        after["active"] = p.boolean("active") is not False
    if before.get("tax_behavior") not in {None, "unspecified"} and after["tax_behavior"] != before["tax_behavior"]:
        raise invalid("A shipping rate's tax_behavior cannot be changed once set.", param="tax_behavior")
    if after != before:
        await tx.save(after)
    return after


async def checkout_options(tx: Tx, p: Params, *, mode: str, currency: str | None) -> list[dict[str, Any]]:
    """A checkout session's ``shipping_options`` as Stripe shows them (``shipping_amount``, ``shipping_rate``),
    refused as Stripe refuses them."""
    raw = p.array("shipping_options")
    if not raw:
        return []
    if mode != "payment":
        raise invalid("The fake processor takes shipping_options in payment mode only.", param="shipping_options")
    if len(raw) > MAX_OPTIONS:
        raise invalid(f"You can pass at most {MAX_OPTIONS} shipping_options.", param="shipping_options")
    options = []
    for index, item in enumerate(raw):
        option = Params(item if isinstance(item, dict) else {})
        name = f"shipping_options[{index}]"
        if option.has("shipping_rate") == option.has("shipping_rate_data"):
            raise invalid(
                f"Exactly one of {name}[shipping_rate] and {name}[shipping_rate_data] must be given.", param=name
            )
        if option.has("shipping_rate"):
            rate = (
                await tx.get(option.require_str("shipping_rate"), "shipping_rate", param=f"{name}[shipping_rate]")
            ).data
            if not rate["active"]:
                raise invalid(f"The shipping rate {rate['id']} is archived.", param=f"{name}[shipping_rate]")
        else:
            rate = await new_rate(tx, option.sub("shipping_rate_data"), param=f"{name}[shipping_rate_data]")
        rate_currency = rate["fixed_amount"]["currency"]
        if currency is not None and rate_currency != currency:
            raise invalid(
                f"The shipping rate's currency ({rate_currency}) must be the session's ({currency}).", param=name
            )
        options.append({"shipping_amount": int(rate["fixed_amount"]["amount"]), "shipping_rate": rate["id"]})
    return options


__all__ = [
    "DELIVERY_UNITS",
    "MAX_OPTIONS",
    "TAX_BEHAVIORS",
    "checkout_options",
    "create_shipping_rate",
    "list_shipping_rates",
    "new_rate",
    "retrieve_shipping_rate",
    "update_shipping_rate",
]
