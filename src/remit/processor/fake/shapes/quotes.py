"""Quotes and the ``item`` lines they list."""

from __future__ import annotations

from typing import Any

#: How long a quote stays acceptable when its maker names no ``expires_at`` (Stripe's default: 30 days).
QUOTE_LIFETIME = 30 * 24 * 3600


def _no_details() -> dict[str, int]:
    return {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0}


def quote_item(item_id: str, *, price: dict[str, Any], quantity: int, description: str | None) -> dict[str, Any]:
    """One line of a quote as Stripe lists it (an ``item``: no taxes, no discounts)."""
    amount = int(price["unit_amount"]) * quantity
    return {
        "id": item_id,
        "object": "item",
        "amount_discount": 0,
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "currency": price["currency"],
        "description": description,
        "price": price,
        "quantity": quantity,
    }


def computed(items: list[dict[str, Any]], *, trial: bool) -> dict[str, Any]:
    """What the quote will bill: ``recurring`` per period (None for one-time quotes) and ``upfront``, the first
    invoice (the recurring lines cost nothing during a trial)."""
    recurring = [item for item in items if item["price"].get("recurring")]
    per_period = sum(int(item["amount_total"]) for item in recurring)
    upfront = sum(int(item["amount_total"]) for item in items if not (trial and item["price"].get("recurring")))
    cycle = recurring[0]["price"]["recurring"] if recurring else None
    return {
        "recurring": None
        if cycle is None
        else {
            "amount_subtotal": per_period,
            "amount_total": per_period,
            "interval": cycle["interval"],
            "interval_count": cycle["interval_count"],
            "total_details": _no_details(),
        },
        "upfront": {"amount_subtotal": upfront, "amount_total": upfront, "total_details": _no_details()},
    }


def quote(
    quote_id: str,
    *,
    created: int,
    customer: str | None,
    items: list[dict[str, Any]],
    currency: str | None,
    collection_method: str,
    days_until_due: int | None,
    description: str | None,
    header: str | None,
    footer: str | None,
    expires_at: int,
    metadata: dict[str, str],
    subscription_data: dict[str, Any],
) -> dict[str, Any]:
    total = sum(int(item["amount_total"]) for item in items)
    return {
        "id": quote_id,
        "object": "quote",
        "amount_subtotal": total,
        "amount_total": total,
        "application": None,
        "application_fee_amount": None,
        "application_fee_percent": None,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "collection_method": collection_method,
        "computed": computed(items, trial=bool(subscription_data.get("trial_period_days"))),
        "created": created,
        "currency": currency,
        "customer": customer,
        "default_tax_rates": [],
        "description": description,
        "discounts": [],
        "expires_at": expires_at,
        "footer": footer,
        "from_quote": None,
        "header": header,
        "invoice": None,
        "invoice_settings": {"days_until_due": days_until_due, "issuer": {"type": "self"}},
        "livemode": False,
        "metadata": metadata,
        "number": None,
        "on_behalf_of": None,
        "status": "draft",
        "status_transitions": {"accepted_at": None, "canceled_at": None, "finalized_at": None},
        "subscription": None,
        "subscription_data": subscription_data,
        "subscription_schedule": None,
        "test_clock": None,
        "total_details": _no_details(),
        "transfer_data": None,
    }


__all__ = ["QUOTE_LIFETIME", "computed", "quote", "quote_item"]
