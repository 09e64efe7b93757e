"""The mirrored object types: their table, filter columns, version hint, embedded children and source.

One :class:`ObjectKind` per processor object type remit mirrors, keyed by Stripe's own object name
(``customer``, ``checkout.session``, …). Everything here is pure: it turns an object's JSON into column values
and a version hint, and the projection (:mod:`remit.billing.projection`) does the writing.

**Version hints** rank same-second events of one object (see :mod:`remit.billing.watermark`). Each is built
only from fields Stripe moves in one direction, so a higher hint is never older state:

- subscription: ended (``canceled``/``incomplete_expired``) above live, then the current period's start;
- invoice: status draft < open < uncollectible < paid/void, then the payment attempt count;
- charge: settled (succeeded/failed) above pending, captured, disputed, then the amount refunded;
- refund: pending/requires_action < succeeded < failed/canceled (a succeeded refund can still fail);
- dispute: needs response < under review < closed/won/lost;
- checkout session: open < complete/expired, then paid;
- product: its ``updated`` timestamp;
- customer, payment method, price: none (0) — nothing on them only moves forward.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Table

from remit.billing.fields import boolean, currency, dig, integer, list_data, ref, text, timestamp
from remit.db.tables import mirror

Obj = Mapping[str, Any]
Columns = Callable[[Obj], dict[str, Any]]


class Source(StrEnum):
    """Where a projection takes an object's state from."""

    #: The event's ``data.object``, as delivered.
    PAYLOAD = "payload"
    #: The payload, unless an embedded child list is truncated (``has_more``): then the processor is asked
    #: for the whole object when it can answer, so the child rows are complete.
    PAYLOAD_UNLESS_TRUNCATED = "payload_unless_truncated"


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """Objects embedded in a parent's list (subscription items, invoice lines), kept in their own table."""

    field: str
    table: Table
    parent_column: str
    columns: Columns


@dataclass(frozen=True, slots=True)
class ObjectKind:
    name: str
    table: Table
    columns: Columns
    hint: Callable[[Obj], int] = field(default=lambda obj: 0)
    children: tuple[ChildSpec, ...] = ()
    #: Lists of first-class objects embedded in this one (a charge's refunds in older API versions),
    #: projected as objects of their own kind: ``(field, kind name)``.
    embedded: tuple[tuple[str, str], ...] = ()
    source: Source = Source.PAYLOAD


def _status(obj: Obj) -> str | None:
    return text(obj.get("status"), 32)


def _rank(value: Any, ranks: Mapping[str, int]) -> int:
    return ranks.get(value, 0) if isinstance(value, str) else 0


def _period_start(obj: Obj) -> int:
    """A subscription's current period start: top-level in older API versions, per item in newer ones."""
    starts = [integer(obj.get("current_period_start")) or 0]
    items = list_data(obj.get("items"))
    if items:
        starts.extend(integer(item.get("current_period_start")) or 0 for item in items[0])
    return max(starts)


def _period_end(obj: Obj) -> Any:
    ends = [integer(obj.get("current_period_end")) or 0]
    items = list_data(obj.get("items"))
    if items:
        ends.extend(integer(item.get("current_period_end")) or 0 for item in items[0])
    return timestamp(max(ends)) if max(ends) else None


def _subscription_hint(obj: Obj) -> int:
    ended = 1 if obj.get("status") in ("canceled", "incomplete_expired") else 0
    return ended * 10**10 + min(_period_start(obj), 10**10 - 1)


INVOICE_RANKS = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3}


def _invoice_hint(obj: Obj) -> int:
    attempts = integer(obj.get("attempt_count")) or 0
    return _rank(obj.get("status"), INVOICE_RANKS) * 10**6 + min(max(attempts, 0), 10**6 - 1)


CHARGE_RANKS = {"pending": 0, "succeeded": 1, "failed": 1}


def _charge_hint(obj: Obj) -> int:
    stage = _rank(obj.get("status"), CHARGE_RANKS) * 4 + (obj.get("captured") is True) * 2
    stage += obj.get("disputed") is True
    refunded = integer(obj.get("amount_refunded")) or 0
    return stage * 10**13 + min(max(refunded, 0), 10**13 - 1)


REFUND_RANKS = {"pending": 0, "requires_action": 0, "succeeded": 1, "failed": 2, "canceled": 2}
DISPUTE_RANKS = {
    "warning_needs_response": 0,
    "needs_response": 0,
    "warning_under_review": 1,
    "under_review": 1,
    "warning_closed": 2,
    "won": 2,
    "lost": 2,
    "charge_refunded": 2,
    "prevented": 2,
}
SESSION_RANKS = {"open": 0, "complete": 1, "expired": 1}


def _session_hint(obj: Obj) -> int:
    paid = obj.get("payment_status") in ("paid", "no_payment_required")
    return _rank(obj.get("status"), SESSION_RANKS) * 2 + paid


def _product_hint(obj: Obj) -> int:
    return max(integer(obj.get("updated")) or 0, 0)


def _customer(obj: Obj) -> dict[str, Any]:
    return {
        "currency": currency(obj.get("currency")),
        "balance": integer(obj.get("balance")),
        "delinquent": boolean(obj.get("delinquent")),
    }


def _payment_method(obj: Obj) -> dict[str, Any]:
    return {"customer_id": ref(obj.get("customer")), "type": text(obj.get("type"), 64)}


def _subscription(obj: Obj) -> dict[str, Any]:
    return {
        "customer_id": ref(obj.get("customer")),
        "status": _status(obj),
        "currency": currency(obj.get("currency")),
        "current_period_end": _period_end(obj),
        "cancel_at_period_end": boolean(obj.get("cancel_at_period_end")),
    }


def _subscription_item(obj: Obj) -> dict[str, Any]:
    return {"price_id": ref(obj.get("price")) or ref(obj.get("plan")), "quantity": integer(obj.get("quantity"))}


def _invoice(obj: Obj) -> dict[str, Any]:
    subscription = ref(obj.get("subscription")) or ref(dig(obj, "parent", "subscription_details", "subscription"))
    return {
        "customer_id": ref(obj.get("customer")),
        "subscription_id": subscription,
        "status": _status(obj),
        "currency": currency(obj.get("currency")),
        "total": integer(obj.get("total")),
        "amount_due": integer(obj.get("amount_due")),
        "amount_paid": integer(obj.get("amount_paid")),
        "amount_remaining": integer(obj.get("amount_remaining")),
    }


def _invoice_line(obj: Obj) -> dict[str, Any]:
    price = ref(obj.get("price")) or ref(dig(obj, "pricing", "price_details", "price")) or ref(obj.get("plan"))
    return {
        "price_id": price,
        "amount": integer(obj.get("amount")),
        "currency": currency(obj.get("currency")),
        "quantity": integer(obj.get("quantity")),
    }


def _charge(obj: Obj) -> dict[str, Any]:
    return {
        "customer_id": ref(obj.get("customer")),
        "payment_intent_id": ref(obj.get("payment_intent")),
        "invoice_id": ref(obj.get("invoice")),
        "status": _status(obj),
        "amount": integer(obj.get("amount")),
        "amount_captured": integer(obj.get("amount_captured")),
        "amount_refunded": integer(obj.get("amount_refunded")),
        "currency": currency(obj.get("currency")),
        "paid": boolean(obj.get("paid")),
        "refunded": boolean(obj.get("refunded")),
        "disputed": boolean(obj.get("disputed")),
    }


def _refund_or_dispute(obj: Obj) -> dict[str, Any]:
    return {
        "charge_id": ref(obj.get("charge")),
        "payment_intent_id": ref(obj.get("payment_intent")),
        "status": _status(obj),
        "amount": integer(obj.get("amount")),
        "currency": currency(obj.get("currency")),
        "reason": text(obj.get("reason"), 64),
    }


def _checkout_session(obj: Obj) -> dict[str, Any]:
    return {
        "customer_id": ref(obj.get("customer")),
        "subscription_id": ref(obj.get("subscription")),
        "payment_intent_id": ref(obj.get("payment_intent")),
        "mode": text(obj.get("mode"), 16),
        "status": _status(obj),
        "payment_status": text(obj.get("payment_status"), 32),
        "amount_total": integer(obj.get("amount_total")),
        "currency": currency(obj.get("currency")),
    }


def _product(obj: Obj) -> dict[str, Any]:
    return {"active": boolean(obj.get("active"))}


def _price(obj: Obj) -> dict[str, Any]:
    # Legacy plan-shaped prices keep the amount and interval at the top level.
    unit_amount = integer(obj.get("unit_amount"))
    return {
        "product_id": ref(obj.get("product")),
        "active": boolean(obj.get("active")),
        "currency": currency(obj.get("currency")),
        "unit_amount": unit_amount if unit_amount is not None else integer(obj.get("amount")),
        "type": text(obj.get("type"), 16),
        "recurring_interval": text(dig(obj, "recurring", "interval") or obj.get("interval"), 16),
    }


SUBSCRIPTION_ITEMS = ChildSpec("items", mirror.subscription_items, "subscription_id", _subscription_item)
INVOICE_LINES = ChildSpec("lines", mirror.invoice_lines, "invoice_id", _invoice_line)

KINDS: dict[str, ObjectKind] = {
    kind.name: kind
    for kind in [
        ObjectKind("customer", mirror.customers, _customer),
        ObjectKind("payment_method", mirror.payment_methods, _payment_method),
        ObjectKind(
            "subscription",
            mirror.subscriptions,
            _subscription,
            _subscription_hint,
            children=(SUBSCRIPTION_ITEMS,),
            source=Source.PAYLOAD_UNLESS_TRUNCATED,
        ),
        ObjectKind(
            "invoice",
            mirror.invoices,
            _invoice,
            _invoice_hint,
            children=(INVOICE_LINES,),
            source=Source.PAYLOAD_UNLESS_TRUNCATED,
        ),
        ObjectKind("charge", mirror.charges, _charge, _charge_hint, embedded=(("refunds", "refund"),)),
        ObjectKind("refund", mirror.refunds, _refund_or_dispute, lambda obj: _rank(obj.get("status"), REFUND_RANKS)),
        ObjectKind("dispute", mirror.disputes, _refund_or_dispute, lambda obj: _rank(obj.get("status"), DISPUTE_RANKS)),
        ObjectKind("checkout.session", mirror.checkout_sessions, _checkout_session, _session_hint),
        ObjectKind("product", mirror.products, _product, _product_hint),
        ObjectKind("price", mirror.prices, _price),
    ]
}


def is_truncated(kind: ObjectKind, obj: Obj) -> bool:
    """Whether one of ``obj``'s embedded child lists says it holds only part of the children."""
    for child in kind.children:
        listed = list_data(obj.get(child.field))
        if listed is not None and not listed[1]:
            return True
    return False


__all__ = ["KINDS", "ChildSpec", "ObjectKind", "Source", "is_truncated"]
