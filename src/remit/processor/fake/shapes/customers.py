"""Customers, payment methods and card sources."""

from __future__ import annotations

from typing import Any

from remit.processor.fake.cards import TestCard

EMPTY_ADDRESS: dict[str, Any] = {
    "city": None,
    "country": None,
    "line1": None,
    "line2": None,
    "postal_code": None,
    "state": None,
}


def customer(
    customer_id: str,
    *,
    created: int,
    email: str | None,
    name: str | None,
    description: str | None,
    phone: str | None,
    metadata: dict[str, str],
    invoice_prefix: str,
    default_payment_method: str | None = None,
    address: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": customer_id,
        "object": "customer",
        "address": address,
        "balance": 0,
        "created": created,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": description,
        "discount": None,
        "email": email,
        "invoice_prefix": invoice_prefix,
        "invoice_settings": {"custom_fields": None, "default_payment_method": default_payment_method, "footer": None},
        "livemode": False,
        "metadata": metadata,
        "name": name,
        "next_invoice_sequence": 1,
        "phone": phone,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def deleted(object_id: str, object_type: str) -> dict[str, Any]:
    """The stub Stripe answers a DELETE with."""
    return {"id": object_id, "object": object_type, "deleted": True}


def billing_details(details: dict[str, Any] | None = None) -> dict[str, Any]:
    details = details or {}
    address = dict(EMPTY_ADDRESS)
    address.update({k: v for k, v in (details.get("address") or {}).items() if k in EMPTY_ADDRESS})
    return {
        "address": address,
        "email": details.get("email"),
        "name": details.get("name"),
        "phone": details.get("phone"),
    }


def fingerprint(card: TestCard) -> str:
    return f"fake{card.brand[:4]}{card.last4}".ljust(16, "0")[:16]


def card_details(card: TestCard, *, exp_year: int) -> dict[str, Any]:
    return {
        "brand": card.brand,
        "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
        "country": card.country,
        "exp_month": 12,
        "exp_year": exp_year,
        "fingerprint": fingerprint(card),
        "funding": card.funding,
        "generated_from": None,
        "last4": card.last4,
        "networks": {"available": [card.brand], "preferred": None},
        "three_d_secure_usage": {"supported": True},
        "wallet": None,
    }


def card_payment_method(
    pm_id: str,
    card: TestCard,
    *,
    created: int,
    customer: str | None,
    exp_year: int,
    details: dict[str, Any] | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "id": pm_id,
        "object": "payment_method",
        "billing_details": billing_details(details),
        "card": card_details(card, exp_year=exp_year),
        "created": created,
        "customer": customer,
        "livemode": False,
        "metadata": metadata or {},
        "type": "card",
    }


def sepa_payment_method(
    pm_id: str, iban: str, *, created: int, customer: str | None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    clean = iban.replace(" ", "").upper()
    return {
        "id": pm_id,
        "object": "payment_method",
        "billing_details": billing_details(details),
        "created": created,
        "customer": customer,
        "livemode": False,
        "metadata": {},
        "sepa_debit": {
            "bank_code": clean[4:9],
            "branch_code": "",
            "country": clean[:2],
            "fingerprint": f"fakesepa{clean[-8:]}",
            "generated_from": {"charge": None, "setup_attempt": None},
            "last4": clean[-4:],
        },
        "type": "sepa_debit",
    }


def card_source(
    card_id: str, card: TestCard, *, customer: str, exp_year: int, metadata: dict[str, str] | None = None
) -> dict[str, Any]:
    """A legacy card source (``customer.source.*`` events)."""
    return {
        "id": card_id,
        "object": "card",
        "address_city": None,
        "address_country": None,
        "address_line1": None,
        "address_line1_check": None,
        "address_line2": None,
        "address_state": None,
        "address_zip": None,
        "address_zip_check": None,
        "brand": card.brand.capitalize() if card.brand != "amex" else "American Express",
        "country": card.country,
        "customer": customer,
        "cvc_check": "pass",
        "dynamic_last4": None,
        "exp_month": 12,
        "exp_year": exp_year,
        "fingerprint": fingerprint(card),
        "funding": card.funding,
        "last4": card.last4,
        "metadata": metadata or {},
        "name": None,
        "tokenization_method": None,
    }


def bank_account_source(
    ba_id: str, *, customer: str, status: str, metadata: dict[str, str] | None = None
) -> dict[str, Any]:
    """A legacy US bank account source (ACH), as Stripe's test bank tokens make one."""
    return {
        "id": ba_id,
        "object": "bank_account",
        "account_holder_name": "Jenny Rosen",
        "account_holder_type": "individual",
        "account_type": None,
        "bank_name": "STRIPE TEST BANK",
        "country": "US",
        "currency": "usd",
        "customer": customer,
        "fingerprint": "fakebank00006789",
        "last4": "6789",
        "metadata": metadata or {},
        "routing_number": "110000000",
        "status": status,
    }


__all__ = [
    "EMPTY_ADDRESS",
    "bank_account_source",
    "billing_details",
    "card_details",
    "card_payment_method",
    "card_source",
    "customer",
    "deleted",
    "sepa_payment_method",
]
