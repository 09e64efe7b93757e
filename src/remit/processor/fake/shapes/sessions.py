"""Checkout and billing-portal sessions, billing meters and meter events, webhook endpoints, accounts."""

from __future__ import annotations

import hashlib
from typing import Any

FAKE_HOST = "https://fake.remit.invalid"
CHECKOUT_LIFETIME = 24 * 3600


def checkout_session(
    session_id: str,
    *,
    created: int,
    mode: str,
    success_url: str,
    cancel_url: str | None,
    customer: str | None,
    customer_email: str | None,
    client_reference_id: str | None,
    currency: str | None,
    amount_total: int | None,
    payment_method_types: list[str],
    metadata: dict[str, str],
) -> dict[str, Any]:
    return {
        "id": session_id,
        "object": "checkout.session",
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": amount_total,
        "amount_total": amount_total,
        "automatic_tax": {"enabled": False, "status": None},
        "billing_address_collection": None,
        "cancel_url": cancel_url,
        "client_reference_id": client_reference_id,
        "consent": None,
        "consent_collection": None,
        "currency": currency,
        "customer": customer,
        "customer_creation": None if customer else "always",
        "customer_details": None,
        "customer_email": customer_email,
        "expires_at": created + CHECKOUT_LIFETIME,
        "livemode": False,
        "locale": None,
        "metadata": metadata,
        "mode": mode,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_options": {},
        "payment_method_types": payment_method_types,
        "payment_status": "no_payment_required" if mode == "setup" else "unpaid",
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "setup_intent": None,
        "shipping": None,
        "shipping_address_collection": None,
        "shipping_options": [],
        "shipping_rate": None,
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": success_url,
        "total_details": (
            {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0} if amount_total is not None else None
        ),
        "url": f"{FAKE_HOST}/checkout/{session_id}",
    }


def portal_session(session_id: str, *, created: int, customer: str, return_url: str) -> dict[str, Any]:
    return {
        "id": session_id,
        "object": "billing_portal.session",
        "configuration": "bpc_fake000001",
        "created": created,
        "customer": customer,
        "flow": None,
        "livemode": False,
        "locale": None,
        "on_behalf_of": None,
        "return_url": return_url,
        "url": f"{FAKE_HOST}/portal/{session_id}",
    }


def meter(
    meter_id: str, *, created: int, display_name: str, event_name: str, formula: str, customer_key: str, value_key: str
) -> dict[str, Any]:
    return {
        "id": meter_id,
        "object": "billing.meter",
        "created": created,
        "customer_mapping": {"event_payload_key": customer_key, "type": "by_id"},
        "default_aggregation": {"formula": formula},
        "display_name": display_name,
        "event_name": event_name,
        "event_time_window": None,
        "livemode": False,
        "status": "active",
        "status_transitions": {"deactivated_at": None},
        "updated": created,
        "value_settings": {"event_payload_key": value_key},
    }


def meter_event(
    *, created: int, event_name: str, identifier: str, payload: dict[str, str], timestamp: int
) -> dict[str, Any]:
    return {
        "object": "billing.meter_event",
        "created": created,
        "event_name": event_name,
        "identifier": identifier,
        "livemode": False,
        "payload": payload,
        "timestamp": timestamp,
    }


def meter_event_summary(meter: str, customer: str, start: int, end: int, value: float | int) -> dict[str, Any]:
    """One window of a customer's usage on a meter; its id names the window, so a page cursor stays valid."""
    digest = hashlib.sha256(f"{meter}:{customer}:{start}:{end}".encode()).hexdigest()[:24]
    return {
        "id": f"mtrusg_{digest}",
        "object": "billing.meter_event_summary",
        "aggregated_value": value,
        "end_time": end,
        "livemode": False,
        "meter": meter,
        "start_time": start,
    }


def webhook_endpoint(
    endpoint_id: str,
    *,
    created: int,
    url: str,
    enabled_events: list[str],
    description: str | None,
    api_version: str | None,
    metadata: dict[str, str],
) -> dict[str, Any]:
    return {
        "id": endpoint_id,
        "object": "webhook_endpoint",
        "api_version": api_version,
        "application": None,
        "created": created,
        "description": description,
        "enabled_events": enabled_events,
        "livemode": False,
        "metadata": metadata,
        "status": "enabled",
        "url": url,
    }


def account(account_id: str, *, created: int, type_: str, email: str | None) -> dict[str, Any]:
    return {
        "id": account_id,
        "object": "account",
        "business_profile": {"mcc": None, "name": None, "support_email": None, "url": None},
        "business_type": None,
        "capabilities": {},
        "charges_enabled": False,
        "country": "US",
        "created": created,
        "default_currency": "usd",
        "details_submitted": False,
        "email": email,
        "metadata": {},
        "payouts_enabled": False,
        "type": type_,
    }


def application(application_id: str) -> dict[str, Any]:
    return {"id": application_id, "object": "application", "name": None}


def balance() -> dict[str, Any]:
    return {
        "object": "balance",
        "available": [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}],
        "livemode": False,
        "pending": [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}],
    }


__all__ = [
    "CHECKOUT_LIFETIME",
    "FAKE_HOST",
    "account",
    "application",
    "balance",
    "checkout_session",
    "meter",
    "meter_event",
    "portal_session",
    "webhook_endpoint",
]
