"""Deterministic ids: a prefix per object type and a counter per prefix, kept in ``remit_fake_counters``.

``cus_fake000001`` is the first customer of a fresh world, ``cus_fake000002`` the next, whichever process
made them. The ``fake`` infix keeps them apart from real Stripe ids at a glance, and the zero-padding makes
text order the creation order, which the fake's lists rely on when two objects share a second.
"""

from __future__ import annotations

import secrets

#: The id prefix of each object type the fake creates (Stripe's own prefixes).
PREFIXES: dict[str, str] = {
    "account": "acct",
    "application": "ca",
    "balance_transaction": "txn",
    "bank_account": "ba",
    "billing.meter": "mtr",
    "billing_portal.session": "bps",
    "card": "card",
    "charge": "ch",
    "checkout.session": "cs_test",
    "coupon": "coupon",
    "credit_note": "cn",
    "customer": "cus",
    "customer_balance_transaction": "cbtxn",
    "discount": "di",
    "dispute": "dp",
    "event": "evt",
    "invoice": "in",
    "invoiceitem": "ii",
    "line_item": "il",
    "login_link": "ll",
    "payment_intent": "pi",
    "payment_method": "pm",
    "payout": "po",
    "person": "person",
    "price": "price",
    "quote": "qt",
    "product": "prod",
    "refund": "re",
    "request": "req",
    "subscription": "sub",
    "subscription_item": "si",
    "tax_id": "txi",
    "webhook_endpoint": "we",
    "meter_event_session": "mes",
    "setup_intent": "seti",
    "shipping_rate": "shr",
}

WIDTH = 6


def format_id(prefix: str, number: int) -> str:
    """``format_id("cus", 1) == "cus_fake000001"``."""
    return f"{prefix}_fake{number:0{WIDTH}d}"


def prefix_for(object_type: str) -> str:
    try:
        return PREFIXES[object_type]
    except KeyError:
        raise ValueError(f"no id prefix for object type {object_type!r}") from None


def new_webhook_secret() -> str:
    """A fresh endpoint signing secret. Random, unlike ids: a secret that could be guessed is no secret."""
    return "whsec_" + secrets.token_urlsafe(24)


__all__ = ["PREFIXES", "format_id", "new_webhook_secret", "prefix_for"]
