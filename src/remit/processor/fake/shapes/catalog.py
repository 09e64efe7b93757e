"""Products, prices, and the legacy plan view of a recurring price."""

from __future__ import annotations

from typing import Any


def product(
    product_id: str, *, created: int, name: str, description: str | None, active: bool, metadata: dict[str, str]
) -> dict[str, Any]:
    return {
        "id": product_id,
        "object": "product",
        "active": active,
        "attributes": [],
        "created": created,
        "description": description,
        "images": [],
        "livemode": False,
        "metadata": metadata,
        "name": name,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": "service",
        "unit_label": None,
        "updated": created,
        "url": None,
    }


def recurring(interval: str, interval_count: int, usage_type: str = "licensed") -> dict[str, Any]:
    return {
        "aggregate_usage": None,
        "interval": interval,
        "interval_count": interval_count,
        "trial_period_days": None,
        "usage_type": usage_type,
    }


def price(
    price_id: str,
    *,
    created: int,
    product: str,
    currency: str,
    unit_amount: int,
    recurring_: dict[str, Any] | None,
    nickname: str | None,
    lookup_key: str | None,
    active: bool,
    metadata: dict[str, str],
) -> dict[str, Any]:
    return {
        "id": price_id,
        "object": "price",
        "active": active,
        "billing_scheme": "per_unit",
        "created": created,
        "currency": currency,
        "livemode": False,
        "lookup_key": lookup_key,
        "metadata": metadata,
        "nickname": nickname,
        "product": product,
        "recurring": recurring_,
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if recurring_ else "one_time",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def currency_option(unit_amount: int, tax_behavior: str) -> dict[str, Any]:
    """One entry of a price's ``currency_options``."""
    return {
        "custom_unit_amount": None,
        "tax_behavior": tax_behavior,
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def plan(price_: dict[str, Any]) -> dict[str, Any] | None:
    """The legacy ``plan`` Stripe shows beside a recurring price (same id), or None for one-time prices."""
    rec = price_.get("recurring")
    if not rec:
        return None
    return {
        "id": price_["id"],
        "object": "plan",
        "active": price_["active"],
        "aggregate_usage": rec.get("aggregate_usage"),
        "amount": price_["unit_amount"],
        "amount_decimal": price_["unit_amount_decimal"],
        "billing_scheme": "per_unit",
        "created": price_["created"],
        "currency": price_["currency"],
        "interval": rec["interval"],
        "interval_count": rec["interval_count"],
        "livemode": False,
        "metadata": price_["metadata"],
        "nickname": price_["nickname"],
        "product": price_["product"],
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": rec.get("trial_period_days"),
        "usage_type": rec.get("usage_type", "licensed"),
    }


__all__ = ["currency_option", "plan", "price", "product", "recurring"]
