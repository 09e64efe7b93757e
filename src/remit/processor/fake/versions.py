"""API versions: which ``Stripe-Version`` the fake answers in, and what an object looks like in each.

The fake keeps its world in one shape — the account's API version, :data:`~remit.processor.base.API_VERSION`
(2020-08-27, the shape of remit's fixtures and of every event it emits) — and renders each answer in the
version the request asked for, as Stripe renders one stored object through its version changes. It knows the
versions in :data:`KNOWN_VERSIONS`: the account's, and those of the official SDK releases it is tested with
(each SDK release sends its own pinned version on every request). A version string Stripe would refuse, or
one whose shapes the fake does not know, is refused with Stripe's own 400 (``Invalid Stripe API version``),
rather than answered in a shape the caller did not ask for.

A :class:`Change` says how one object type differs from a given version on; :func:`render` applies, to every
Stripe object inside an answer (lists, search results and expanded objects included), the changes of the
requested version. The changes are grouped under the first known version that has them; the shapes they
produce are checked field by field against the installed SDK's own classes. Events are not re-rendered: an
event keeps the shape of the version it was created in, as at Stripe.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from remit.processor.base import API_VERSION
from remit.processor.fake.errors import INVALID_REQUEST, ApiError

#: The version of the official SDK 15.3.x (Stripe's "dahlia" release).
DAHLIA = "2026-06-24.dahlia"
#: The version of the official SDK 16.x (Stripe's "endive" release).
ENDIVE = "2026-10-28.endive"

#: Every version the fake answers in, oldest first. The first is the account's: an answer to a request without
#: ``Stripe-Version`` has its shapes, and so does every event.
KNOWN_VERSIONS: tuple[str, ...] = (API_VERSION, DAHLIA, ENDIVE)

_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")


def requested(header: str | None) -> str:
    """The version a request asks for (``None`` or empty: the account's), or Stripe's 400 for one it cannot
    answer in."""
    if header is None or not header.strip():
        return API_VERSION
    version = header.strip()
    if version not in KNOWN_VERSIONS:
        hint = "" if _VERSION.match(version) else " (an API version looks like 2020-08-27 or 2026-10-28.endive)"
        raise ApiError(
            400,
            INVALID_REQUEST,
            f"Invalid Stripe API version: {version}{hint}. The fake processor answers in {', '.join(KNOWN_VERSIONS)}.",
        )
    return version


def _order(version: str) -> int:
    return KNOWN_VERSIONS.index(version)


Transform = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Change:
    """From version ``since`` on (and before ``until``, when given), objects of type ``object`` change by
    ``apply`` (in place, on a copy)."""

    object: str
    since: str
    apply: Transform
    until: str | None = None

    def applies(self, version: str) -> bool:
        order = _order(version)
        return _order(self.since) <= order and (self.until is None or order < _order(self.until))


def _drop(*keys: str) -> Transform:
    def apply(obj: dict[str, Any]) -> None:
        for key in keys:
            obj.pop(key, None)

    return apply


def _add(**defaults: Any) -> Transform:
    def apply(obj: dict[str, Any]) -> None:
        for key, value in defaults.items():
            obj.setdefault(key, copy.deepcopy(value))

    return apply


# The modern shapes (basil and later, as the dahlia SDK has them) ---------------------------------------------


def _subscription(sub: dict[str, Any]) -> None:
    """Periods moved onto the items; the legacy ``plan``/``quantity``/``discount`` went."""
    start, end = sub.pop("current_period_start", None), sub.pop("current_period_end", None)
    items = sub.get("items")
    if isinstance(items, dict):
        for item in items.get("data") or []:
            if isinstance(item, dict):
                item.setdefault("current_period_start", start)
                item.setdefault("current_period_end", end)
    first = (items or {}).get("data") or [{}]
    price = first[0].get("price") if isinstance(first[0], dict) else None
    discount = sub.get("discount")
    for key in ("plan", "quantity", "discount"):
        sub.pop(key, None)
    _add(
        application=None,
        billing_cycle_anchor_config=None,
        billing_mode={"flexible": None, "type": "classic", "updated_at": None},
        billing_schedules=[],
        cancellation_details={"comment": None, "feedback": None, "reason": None},
        customer_account=None,
        description=None,
        discounts=[discount["id"]] if isinstance(discount, dict) else [],
        invoice_settings={"account_tax_ids": None, "issuer": {"type": "self"}},
        managed_payments=None,
        on_behalf_of=None,
        presentment_details=None,
        trial_settings={"end_behavior": {"missing_payment_method": "create_invoice"}},
    )(sub)
    sub.setdefault("currency", price.get("currency") if isinstance(price, dict) else None)


def _subscription_item(item: dict[str, Any]) -> None:
    _add(billed_until=item.get("current_period_end"), discounts=[], current_period_start=None)(item)
    item.setdefault("current_period_end", None)


def _invoice(inv: dict[str, Any]) -> None:
    """Payments and the subscription moved under ``payments`` / ``parent``; taxes and totals renamed."""
    subscription = inv.pop("subscription", None)
    inv["parent"] = (
        {
            "quote_details": None,
            "subscription_details": {
                "metadata": {},
                "subscription": subscription,
                "subscription_proration_date": None,
            },
            "type": "subscription_details",
        }
        if subscription
        else None
    )
    lines = inv.get("lines")
    if isinstance(lines, dict):
        for line in lines.get("data") or []:
            if isinstance(line, dict):
                line.setdefault("invoice", inv["id"])
    _drop(
        "application_fee_amount",
        "charge",
        "discount",
        "paid",
        "paid_out_of_band",
        "payment_intent",
        "quote",
        "tax",
        "total_tax_amounts",
        "transfer_data",
    )(inv)
    finalized = (inv.get("status_transitions") or {}).get("finalized_at")
    _add(
        amount_overpaid=0,
        amount_paid_off_stripe=0,
        amount_shipping=0,
        application=None,
        automatically_finalizes_at=None,
        customer_account=None,
        effective_at=finalized,
        from_invoice=None,
        issuer={"type": "self"},
        latest_revision=None,
        rendering=None,
        shipping_cost=None,
        shipping_details=None,
        subtotal_excluding_tax=inv.get("subtotal"),
        threshold_reason=None,
        total_excluding_tax=inv.get("total"),
        total_pretax_credit_amounts=[],
        total_taxes=[],
    )(inv)


def _pricing(price: Any, quantity: Any, amount: Any) -> dict[str, Any] | None:
    if not isinstance(price, dict):
        return None
    unit = price.get("unit_amount_decimal")
    if unit is None and isinstance(amount, int) and isinstance(quantity, int) and quantity:
        unit = str(amount // quantity)
    return {
        "price_details": {"price": price.get("id"), "product": price.get("product")},
        "type": "price_details",
        "unit_amount_decimal": unit,
    }


def _line_item(line: dict[str, Any]) -> None:
    """A line names what made it under ``parent`` and its price under ``pricing``."""
    proration = {"credited_items": None}
    invoice_item = line.get("invoice_item")
    if invoice_item:
        line["parent"] = {
            "invoice_item_details": {
                "invoice_item": invoice_item,
                "proration": bool(line.get("proration")),
                "proration_details": proration,
                "subscription": line.get("subscription"),
            },
            "subscription_item_details": None,
            "type": "invoice_item_details",
        }
    else:
        line["parent"] = {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": bool(line.get("proration")),
                "proration_details": proration,
                "subscription": line.get("subscription"),
                "subscription_item": line.get("subscription_item"),
            },
            "type": "subscription_item_details",
        }
    line["pricing"] = _pricing(line.get("price"), line.get("quantity"), line.get("amount"))
    _drop("invoice_item", "plan", "price", "proration", "proration_details", "subscription_item", "tax_amounts")(line)
    _drop("tax_rates", "type")(line)
    _add(
        invoice=None,
        pretax_credit_amounts=[],
        quantity_decimal=str(line.get("quantity")) if line.get("quantity") is not None else None,
        subtotal=line.get("amount"),
        taxes=[],
    )(line)


def _invoiceitem(item: dict[str, Any]) -> None:
    subscription = item.get("subscription")
    item["parent"] = (
        {
            "subscription_details": {"subscription": subscription, "subscription_item": item.get("subscription_item")},
            "type": "subscription_details",
        }
        if subscription
        else None
    )
    item["pricing"] = _pricing(item.get("price"), item.get("quantity"), item.get("amount"))
    _drop("plan", "price", "subscription", "subscription_item", "unit_amount", "unit_amount_decimal")(item)
    _add(
        customer_account=None,
        net_amount=item.get("amount"),
        proration_details={"credited_items": None, "discount_amounts": []},
        quantity_decimal=str(item.get("quantity")) if item.get("quantity") is not None else None,
    )(item)


def _payment_intent(pi: dict[str, Any]) -> None:
    charges = (pi.pop("charges", None) or {}).get("data") or []
    latest = charges[-1] if charges else None
    pi["latest_charge"] = latest.get("id") if isinstance(latest, dict) else latest
    _drop("invoice")(pi)
    _add(
        amount_details={"tip": {}},
        customer_account=None,
        excluded_payment_method_types=None,
        hooks=None,
        managed_payments=None,
        payment_details=None,
        payment_method_configuration_details=None,
        presentment_details=None,
    )(pi)


def _charge(charge: dict[str, Any]) -> None:
    _drop("destination", "dispute", "invoice", "order", "refunds")(charge)
    _add(
        authorization_code=None,
        failure_balance_transaction=None,
        presentment_details=None,
        radar_options={},
    )(charge)


def _refund(refund: dict[str, Any]) -> None:
    _add(
        description=None,
        destination_details=None,
        failure_balance_transaction=None,
        failure_reason=None,
        instructions_email=None,
        next_action=None,
        pending_reason=None,
        presentment_details=None,
    )(refund)


def _checkout_session(session: dict[str, Any]) -> None:
    shipping = session.pop("shipping", None)
    rate = session.pop("shipping_rate", None)
    if rate is not None:
        amount = int((session.get("total_details") or {}).get("amount_shipping") or 0)
        session["shipping_cost"] = {
            "amount_subtotal": amount,
            "amount_tax": 0,
            "amount_total": amount,
            "shipping_rate": rate,
            "taxes": [],
        }
    _add(
        adaptive_pricing=None,
        branding_settings=None,
        client_secret=None,
        collected_information={"business_name": None, "individual_name": None, "shipping_details": shipping},
        currency_conversion=None,
        custom_fields=[],
        custom_text={
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        customer_account=None,
        discounts=[],
        excluded_payment_method_types=[],
        integration_identifier=None,
        invoice=None,
        invoice_creation=None,
        managed_payments=None,
        name_collection=None,
        optional_items=None,
        origin_context=None,
        payment_method_collection="always",
        payment_method_configuration_details=None,
        permissions=None,
        presentment_details=None,
        redirect_on_completion=None,
        return_url=None,
        saved_payment_method_options=None,
        shipping_cost=None,
        tax_id_collection={"enabled": False, "required": "never"},
        ui_mode="hosted",
        wallet_options=None,
    )(session)
    session.setdefault("created", int(session.get("expires_at") or 0) - 24 * 3600)


def _tax_id(tax_id: dict[str, Any]) -> None:
    customer = tax_id.get("customer")
    tax_id["owner"] = {
        "account": None,
        "application": None,
        "customer": customer,
        "type": "customer" if customer else "self",
    }
    tax_id.setdefault("customer_account", None)


def _discount(discount: dict[str, Any]) -> None:
    """The coupon moved under ``source``."""
    found = discount.pop("coupon", None)
    discount["source"] = {"coupon": found, "type": "coupon"}
    _add(customer_account=None, subscription_item=None)(discount)


def _dispute(dispute: dict[str, Any]) -> None:
    """One ``balance_transaction`` went (the list stays); the card network's details came."""
    dispute.pop("balance_transaction", None)
    _add(
        enhanced_eligibility_types=[],
        network_reason_code=None,
        payment_method_details={
            "card": {"brand": "visa", "case_type": "chargeback", "network_reason_code": None},
            "type": "card",
        },
    )(dispute)


CHANGES: tuple[Change, ...] = (
    # What the fake keeps for later versions only (a listed item's period, a listed line's invoice, fields of
    # objects the account's version did not have yet): the account's version, and its events, go without.
    Change("subscription_item", API_VERSION, _drop("current_period_start", "current_period_end"), until=DAHLIA),
    Change("line_item", API_VERSION, _drop("invoice"), until=DAHLIA),
    Change("subscription", API_VERSION, _drop("cancellation_details", "description"), until=DAHLIA),
    Change("product", API_VERSION, _drop("default_price"), until=DAHLIA),
    Change("customer", DAHLIA, _add(business_name=None, customer_account=None, individual_name=None)),
    Change("product", DAHLIA, _drop("attributes")),
    Change("product", DAHLIA, _add(default_price=None, marketing_features=[])),
    Change("price", DAHLIA, _add(custom_unit_amount=None)),
    Change("price", DAHLIA, lambda price: (price.get("recurring") or {}).pop("aggregate_usage", None)),
    Change("plan", DAHLIA, _drop("aggregate_usage")),
    Change("plan", DAHLIA, _add(meter=None)),
    Change("subscription", DAHLIA, _subscription),
    Change("subscription_item", DAHLIA, _subscription_item),
    Change("invoice", DAHLIA, _invoice),
    Change("line_item", DAHLIA, _line_item),
    Change("invoiceitem", DAHLIA, _invoiceitem),
    Change("payment_intent", DAHLIA, _payment_intent),
    Change("charge", DAHLIA, _charge),
    Change("refund", DAHLIA, _refund),
    Change("balance_transaction", DAHLIA, _add(balance_type="payments")),
    Change("checkout.session", DAHLIA, _checkout_session),
    Change("billing_portal.session", DAHLIA, _add(customer_account=None)),
    Change("payment_method", DAHLIA, _add(allow_redisplay="unspecified", customer_account=None)),
    Change(
        "credit_note",
        DAHLIA,
        _add(
            customer_account=None,
            post_payment_amount=0,
            pre_payment_amount=0,
            pretax_credit_amounts=[],
            refunds=[],
            total_taxes=[],
        ),
    ),
    Change("credit_note", DAHLIA, _drop("refund", "tax_amounts")),
    Change("customer_balance_transaction", DAHLIA, _add(customer_account=None)),
    Change("cash_balance", DAHLIA, _add(customer_account=None)),
    Change("tax_id", DAHLIA, _tax_id),
    Change(
        "card",
        DAHLIA,
        _add(allow_redisplay="unspecified", networks={"preferred": None}, regulated_status="unregulated"),
    ),
    Change("dispute", DAHLIA, _dispute),
    Change(
        "payout",
        DAHLIA,
        _add(
            application_fee=None,
            application_fee_amount=None,
            payout_method=None,
            reconciliation_status="not_applicable",
            trace_id={"status": "unsupported", "value": None},
        ),
    ),
    Change("item", DAHLIA, _add(adjustable_quantity=None, metadata={})),
    Change("quote", DAHLIA, _add(customer_account=None)),
    Change(
        "person",
        DAHLIA,
        _add(
            additional_tos_acceptances={"account": None},
            address_kana=None,
            address_kanji=None,
            first_name_kana=None,
            first_name_kanji=None,
            full_name_aliases=[],
            future_requirements={
                "alternatives": [],
                "currently_due": [],
                "errors": [],
                "eventually_due": [],
                "past_due": [],
                "pending_verification": [],
            },
            id_number_secondary_provided=False,
            last_name_kana=None,
            last_name_kanji=None,
            political_exposure=None,
            registered_address=None,
            us_cfpb_data=None,
        ),
    ),
    Change("person", DAHLIA, lambda person: person["relationship"].setdefault("authorizer", None)),
    Change("person", DAHLIA, lambda person: person["relationship"].setdefault("legal_guardian", None)),
    Change("discount", DAHLIA, _discount),
    Change("product", ENDIVE, _add(tax_details=None)),
    Change("subscription", ENDIVE, _add(status_details=None)),
    Change("subscription_item", ENDIVE, _add(current_trial=None)),
    Change("invoice", ENDIVE, _add(status_details=None)),
    Change("invoiceitem", ENDIVE, _add(frozen_fields=None, invoicing_rules=None)),
    Change("payment_intent", ENDIVE, _add(payment_record=None)),
    Change(
        "payment_intent", ENDIVE, lambda pi: pi.setdefault("allowed_payment_method_types", pi["payment_method_types"])
    ),
    Change("refund", ENDIVE, _add(customer=None, customer_account=None, payment_method=None)),
    Change("dispute", ENDIVE, _add(intended_submission_method=None)),
    Change(
        "checkout.session", ENDIVE, lambda s: s.setdefault("allowed_payment_method_types", s["payment_method_types"])
    ),
    Change("billing_portal.session", ENDIVE, _add(after_expiration=None)),
)

#: Object types whose shape does not depend on the version (events keep the version they were made in).
_UNCHANGED = {"event"}


def render(value: Any, version: str) -> Any:
    """A copy of ``value`` with every Stripe object inside it in ``version``'s shape."""
    changes = [change for change in CHANGES if change.applies(version)]
    if not changes:
        return value
    by_type: dict[str, list[Change]] = {}
    for change in changes:
        by_type.setdefault(change.object, []).append(change)
    return _render(value, by_type)


def _render(value: Any, by_type: dict[str, list[Change]]) -> Any:
    if isinstance(value, list):
        return [_render(item, by_type) for item in value]
    if not isinstance(value, dict):
        return value
    kind = value.get("object")
    if kind in _UNCHANGED:
        return value
    obj = dict(value)
    changes = by_type.get(kind, ()) if isinstance(kind, str) and not obj.get("deleted") else ()
    if changes:  # copied deep only when something changes it in place: a long list page is mostly untouched
        obj = copy.deepcopy(obj)
        for change in changes:
            change.apply(obj)
    return {key: _render(item, by_type) for key, item in obj.items()}


__all__ = ["CHANGES", "DAHLIA", "ENDIVE", "KNOWN_VERSIONS", "Change", "render", "requested"]
