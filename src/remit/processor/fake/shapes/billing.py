"""Subscriptions and their items, invoices and their lines, invoice items, credit notes."""

from __future__ import annotations

from typing import Any

from remit.processor.fake.shapes.catalog import plan

ACCOUNT_NAME = "remit fake processor"

#: How many entries of a subscription's ``items`` and of an invoice's ``lines`` Stripe embeds in the object; the
#: rest are listed by ``GET /v1/subscription_items?subscription=…`` and ``GET /v1/invoices/{id}/lines``.
EMBEDDED_LIMIT = 10
#: The embedded child list of each object type that Stripe cuts to :data:`EMBEDDED_LIMIT`.
EMBEDDED_LISTS = {"subscription": "items", "invoice": "lines"}


def subscription_item(
    item_id: str,
    *,
    created: int,
    subscription: str,
    price: dict[str, Any],
    quantity: int,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": created,
        "metadata": metadata or {},
        "plan": plan(price),
        "price": price,
        "quantity": quantity,
        "subscription": subscription,
        "tax_rates": [],
    }


def item_list(items: list[dict[str, Any]], subscription_id: str) -> dict[str, Any]:
    return {
        "object": "list",
        "data": items,
        "has_more": False,
        "total_count": len(items),
        "url": f"/v1/subscription_items?subscription={subscription_id}",
    }


def subscription(
    sub_id: str,
    *,
    created: int,
    customer: str,
    items: list[dict[str, Any]],
    status: str,
    period_start: int,
    period_end: int,
    trial_start: int | None,
    trial_end: int | None,
    default_payment_method: str | None,
    metadata: dict[str, str],
    collection_method: str,
    days_until_due: int | None,
    latest_invoice: str | None,
) -> dict[str, Any]:
    first = items[0] if items else None
    return {
        "id": sub_id,
        "object": "subscription",
        "application_fee_percent": None,
        "automatic_tax": {"enabled": False},
        "billing_cycle_anchor": period_start,
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "collection_method": collection_method,
        "created": created,
        "current_period_end": period_end,
        "current_period_start": period_start,
        "customer": customer,
        "days_until_due": days_until_due,
        "default_payment_method": default_payment_method,
        "default_source": None,
        "default_tax_rates": [],
        "discount": None,
        "ended_at": None,
        "items": item_list(items, sub_id),
        "latest_invoice": latest_invoice,
        "livemode": False,
        "metadata": metadata,
        "next_pending_invoice_item_invoice": None,
        "pause_collection": None,
        "payment_settings": {"payment_method_options": None, "payment_method_types": None},
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "plan": first["plan"] if first else None,
        "quantity": first["quantity"] if first and len(items) == 1 else None,
        "schedule": None,
        "start_date": created,
        "status": status,
        "test_clock": None,
        "transfer_data": None,
        "trial_end": trial_end,
        "trial_start": trial_start,
    }


def refresh_plan(sub: dict[str, Any]) -> None:
    """Keep the legacy top-level ``plan``/``quantity`` in step with the items after a change."""
    data = sub["items"]["data"]
    sub["items"]["total_count"] = len(data)
    sub["plan"] = data[0]["plan"] if data else None
    sub["quantity"] = data[0]["quantity"] if len(data) == 1 else None


def as_sent(value: Any) -> Any:
    """A copy of ``value`` as Stripe sends it: in every subscription and invoice inside it (a list page of them
    too), ``items`` / ``lines`` cut to the first :data:`EMBEDDED_LIMIT` entries, with ``has_more: true`` and the
    whole ``total_count``.

    The fake stores whole lists and its own code (renewals, invoice totals, item changes, the child listings)
    reads only what it stored; only answers and event payloads pass through here, so a receiver meets
    truncated lists exactly as it would from Stripe.
    """
    if isinstance(value, list):
        return [as_sent(item) for item in value]
    if not isinstance(value, dict):
        return value
    copied = {key: as_sent(item) for key, item in value.items()}
    field = EMBEDDED_LISTS.get(str(value.get("object")))
    listed = copied.get(field) if field else None
    if isinstance(listed, dict) and isinstance(listed.get("data"), list) and len(listed["data"]) > EMBEDDED_LIMIT:
        copied[str(field)] = dict(
            listed, data=listed["data"][:EMBEDDED_LIMIT], has_more=True, total_count=len(listed["data"])
        )
    return copied


def line_item(
    line_id: str,
    *,
    amount: int,
    currency: str,
    description: str | None,
    period_start: int,
    period_end: int,
    price: dict[str, Any] | None,
    quantity: int,
    subscription: str | None,
    subscription_item: str | None = None,
    invoice_item: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "id": line_id,
        "object": "line_item",
        "amount": amount,
        "currency": currency,
        "description": description,
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "livemode": False,
        "metadata": metadata or {},
        "period": {"end": period_end, "start": period_start},
        "plan": plan(price) if price else None,
        "price": price,
        "proration": False,
        "proration_details": {"credited_items": None},
        "quantity": quantity,
        "subscription": subscription,
        "tax_amounts": [],
        "tax_rates": [],
        "type": "invoiceitem" if invoice_item else "subscription",
    }
    if invoice_item:
        line["invoice_item"] = invoice_item
    else:
        line["subscription_item"] = subscription_item
    return line


def invoice(
    invoice_id: str,
    *,
    created: int,
    customer: dict[str, Any],
    lines: list[dict[str, Any]],
    currency: str,
    subscription: str | None,
    billing_reason: str,
    collection_method: str,
    description: str | None,
    period_start: int,
    period_end: int,
    days_until_due: int | None,
    metadata: dict[str, str],
    default_payment_method: str | None = None,
) -> dict[str, Any]:
    total = sum(int(line["amount"]) for line in lines)
    return {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "US",
        "account_name": ACCOUNT_NAME,
        "account_tax_ids": None,
        "amount_due": total,
        "amount_paid": 0,
        "amount_remaining": total,
        "application_fee_amount": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": True,
        "automatic_tax": {"enabled": False, "status": None},
        "billing_reason": billing_reason,
        "charge": None,
        "collection_method": collection_method,
        "created": created,
        "currency": currency,
        "custom_fields": None,
        "customer": customer["id"],
        "customer_address": customer.get("address"),
        "customer_email": customer.get("email"),
        "customer_name": customer.get("name"),
        "customer_phone": customer.get("phone"),
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": default_payment_method,
        "default_source": None,
        "default_tax_rates": [],
        "description": description,
        "discount": None,
        "discounts": [],
        "due_date": created + days_until_due * 86400 if days_until_due is not None else None,
        "ending_balance": None,
        "footer": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "last_finalization_error": None,
        "lines": {
            "object": "list",
            "data": lines,
            "has_more": False,
            "total_count": len(lines),
            "url": f"/v1/invoices/{invoice_id}/lines",
        },
        "livemode": False,
        "metadata": metadata,
        "next_payment_attempt": None,
        "number": None,
        "on_behalf_of": None,
        "paid": False,
        "paid_out_of_band": False,
        "payment_intent": None,
        "payment_settings": {"payment_method_options": None, "payment_method_types": None},
        "period_end": period_end,
        "period_start": period_start,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "quote": None,
        "receipt_number": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "draft",
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subscription": subscription,
        "subtotal": total,
        "tax": None,
        "test_clock": None,
        "total": total,
        "total_discount_amounts": [],
        "total_tax_amounts": [],
        "transfer_data": None,
        "webhooks_delivered_at": None,
    }


def invoice_item(
    item_id: str,
    *,
    created: int,
    customer: str,
    amount: int,
    currency: str,
    description: str | None,
    price: dict[str, Any] | None,
    quantity: int,
    metadata: dict[str, str],
    subscription: str | None = None,
) -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "invoiceitem",
        "amount": amount,
        "currency": currency,
        "customer": customer,
        "date": created,
        "description": description,
        "discountable": True,
        "discounts": [],
        "invoice": None,
        "livemode": False,
        "metadata": metadata,
        "period": {"end": created, "start": created},
        "plan": plan(price) if price else None,
        "price": price,
        "proration": False,
        "quantity": quantity,
        "subscription": subscription,
        "subscription_item": None,
        "tax_rates": [],
        "test_clock": None,
        "unit_amount": amount // max(quantity, 1),
        "unit_amount_decimal": str(amount // max(quantity, 1)),
    }


def credit_note(
    note_id: str,
    *,
    created: int,
    invoice: dict[str, Any],
    number: str,
    lines: list[dict[str, Any]],
    memo: str | None,
    reason: str | None,
    metadata: dict[str, str],
) -> dict[str, Any]:
    amount = sum(int(line["amount"]) for line in lines)
    paid = invoice["status"] == "paid"
    return {
        "id": note_id,
        "object": "credit_note",
        "amount": amount,
        "amount_shipping": 0,
        "created": created,
        "currency": invoice["currency"],
        "customer": invoice["customer"],
        "customer_balance_transaction": None,
        "discount_amount": 0,
        "discount_amounts": [],
        "effective_at": created,
        "invoice": invoice["id"],
        "lines": {
            "object": "list",
            "data": lines,
            "has_more": False,
            "total_count": len(lines),
            "url": f"/v1/credit_notes/{note_id}/lines",
        },
        "livemode": False,
        "memo": memo,
        "metadata": metadata,
        "number": number,
        "out_of_band_amount": None,
        "pdf": f"https://fake.remit.invalid/credit_notes/{note_id}/pdf",
        "reason": reason,
        "refund": None,
        "shipping_cost": None,
        "status": "issued",
        "subtotal": amount,
        "subtotal_excluding_tax": amount,
        "tax_amounts": [],
        "total": amount,
        "total_excluding_tax": amount,
        "type": "post_payment" if paid else "pre_payment",
        "voided_at": None,
    }


__all__ = [
    "ACCOUNT_NAME",
    "EMBEDDED_LIMIT",
    "EMBEDDED_LISTS",
    "as_sent",
    "credit_note",
    "invoice",
    "invoice_item",
    "item_list",
    "line_item",
    "refresh_plan",
    "subscription",
    "subscription_item",
]
