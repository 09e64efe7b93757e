"""Failed payments and expired signups, read from processor events (pure).

:func:`charge_failure` reads ``charge.failed`` (the charge) and ``invoice.payment_failed`` (the invoice) into
one :class:`ChargeFailure`, keyed by the charge when one is named — both events arrive for one declined
invoice charge, and the operator hears about it once — else by the invoice and its attempt.
:func:`expired_signup` reads a ``customer.subscription.updated`` whose subscription has just become
``incomplete_expired``. Identifiers, amounts and codes only: nothing here reads an address or a name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CHARGE_FAILED_EVENTS = ("charge.failed", "invoice.payment_failed")
SUBSCRIPTION_UPDATED = "customer.subscription.updated"
INCOMPLETE_EXPIRED = "incomplete_expired"


def ident(value: Any) -> str | None:
    """An id, or the id of an expanded object."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping):
        return ident(value.get("id"))
    return None


def integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class ChargeFailure:
    """One failed payment: its once-only key and the fields ``charge_failed`` carries."""

    key: str
    charge_id: str | None
    invoice_id: str | None
    subscription_id: str | None
    customer_id: str | None
    amount: int | None
    currency: str | None
    failure_code: str | None
    decline_code: str | None
    attempt: int | None


def _invoice_error(invoice: Mapping[str, Any]) -> Mapping[str, Any]:
    """The invoice's payment intent's last error, when it is expanded (codes only are read from it)."""
    intent = invoice.get("payment_intent")
    error = intent.get("last_payment_error") if isinstance(intent, Mapping) else None
    return error if isinstance(error, Mapping) else {}


def charge_failure(event_type: str, obj: Mapping[str, Any]) -> ChargeFailure | None:
    """The failed payment ``obj`` (the event's ``data.object``) reports, or None for another event or an
    object without an id."""
    object_id = ident(obj.get("id"))
    if event_type not in CHARGE_FAILED_EVENTS or object_id is None:
        return None
    if event_type == "charge.failed":
        outcome = obj.get("outcome") if isinstance(obj.get("outcome"), Mapping) else {}
        return ChargeFailure(
            key=f"charge_failed:{object_id}",
            charge_id=object_id,
            invoice_id=ident(obj.get("invoice")),
            subscription_id=None,
            customer_id=ident(obj.get("customer")),
            amount=integer(obj.get("amount")),
            currency=text(obj.get("currency")),
            failure_code=text(obj.get("failure_code")),
            decline_code=text(outcome.get("reason")) if isinstance(outcome, Mapping) else None,
            attempt=None,
        )
    charge_id = ident(obj.get("charge"))
    attempt = integer(obj.get("attempt_count"))
    error = _invoice_error(obj)
    return ChargeFailure(
        key=f"charge_failed:{charge_id}" if charge_id else f"charge_failed:{object_id}:{attempt or 1}",
        charge_id=charge_id,
        invoice_id=object_id,
        subscription_id=ident(obj.get("subscription")),
        customer_id=ident(obj.get("customer")),
        amount=integer(obj.get("amount_due")),
        currency=text(obj.get("currency")),
        failure_code=text(error.get("code")),
        decline_code=text(error.get("decline_code")),
        attempt=attempt,
    )


@dataclass(frozen=True, slots=True)
class ExpiredSignup:
    subscription_id: str
    customer_id: str | None
    invoice_id: str | None


def expired_signup(event_type: str, obj: Mapping[str, Any]) -> ExpiredSignup | None:
    """The subscription ``obj`` if the event shows it ``incomplete_expired``; else None."""
    subscription_id = ident(obj.get("id"))
    if event_type != SUBSCRIPTION_UPDATED or subscription_id is None or obj.get("status") != INCOMPLETE_EXPIRED:
        return None
    return ExpiredSignup(subscription_id, ident(obj.get("customer")), ident(obj.get("latest_invoice")))


__all__ = [
    "CHARGE_FAILED_EVENTS",
    "INCOMPLETE_EXPIRED",
    "SUBSCRIPTION_UPDATED",
    "ChargeFailure",
    "ExpiredSignup",
    "charge_failure",
    "expired_signup",
    "ident",
    "integer",
    "text",
]
