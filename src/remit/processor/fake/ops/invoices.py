"""Invoices: drafts, finalizing, paying (through the charge core), voiding, sending, deleting drafts, lines,
search.

Paying an invoice is where the billing state moves: a paid invoice makes its subscription ``active``, a failed
renewal makes it ``past_due``, as Stripe does; both show as ``customer.subscription.updated``. Finalizing uses
up the customer's balance (a credit lowers what is due, a debit raises it), as Stripe does.
"""

from __future__ import annotations

import copy
from typing import Any

from remit.processor.fake import listing
from remit.processor.fake.errors import INVALID_REQUEST, ApiError, invalid
from remit.processor.fake.ops import balances, discounts, methods
from remit.processor.fake.ops.common import apply_fields, equal_to, listed, searched
from remit.processor.fake.ops.payments import ChargeResult, charge_payment_method, open_payment_intent
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.shapes import billing as shapes
from remit.processor.fake.shapes.sessions import FAKE_HOST
from remit.processor.fake.store import StoredObject
from remit.processor.fake.tx import Tx

RETRY_AFTER_FAILURE = 3 * 86400


async def new_invoice(
    tx: Tx,
    *,
    customer: dict[str, Any],
    lines: list[dict[str, Any]],
    currency: str,
    subscription: str | None,
    billing_reason: str,
    collection_method: str = "charge_automatically",
    description: str | None = None,
    period_start: int | None = None,
    period_end: int | None = None,
    days_until_due: int | None = None,
    metadata: dict[str, str] | None = None,
    invoice_id: str | None = None,
    quote: str | None = None,
) -> dict[str, Any]:
    """Insert a draft invoice and emit ``invoice.created``; the subscription's discount (else the
    customer's) comes off its total. ``quote``: the accepted quote it bills."""
    data = shapes.invoice(
        invoice_id or await tx.new_id("invoice"),
        created=tx.now,
        customer=customer,
        lines=lines,
        currency=currency,
        subscription=subscription,
        billing_reason=billing_reason,
        collection_method=collection_method,
        description=description,
        period_start=tx.now if period_start is None else period_start,
        period_end=tx.now if period_end is None else period_end,
        days_until_due=days_until_due,
        metadata=metadata or {},
    )
    data["quote"] = quote
    if collection_method == "charge_automatically":
        data["next_payment_attempt"] = tx.now + 3600
    used = await discounts.apply_to(tx, data, customer["id"], subscription)
    await tx.insert(data)
    await tx.emit("invoice.created", data)
    if used is not None and used["coupon"]["duration"] == "once":
        await discounts.end(tx, used)
    return data


async def create_invoice(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/invoices``: a draft from the customer's pending invoice items."""
    customer = (await tx.get(p.require_str("customer"), "customer", param="customer")).data
    invoice_id = await tx.new_id("invoice")
    lines: list[dict[str, Any]] = []
    currency = (p.string("currency") or "usd").lower()
    subscription = p.string("subscription")
    if subscription:
        await tx.get(subscription, "subscription", param="subscription")
    if p.string("pending_invoice_items_behavior", "include") != "exclude":
        items = [
            obj.data
            for obj in await tx.list("invoiceitem", customer=customer["id"])
            if obj.data["invoice"] is None and obj.data.get("subscription") == subscription
        ]
        for item in reversed(items):
            lines.append(
                shapes.line_item(
                    await tx.new_id("line_item"),
                    amount=item["amount"],
                    currency=item["currency"],
                    description=item["description"],
                    period_start=item["period"]["start"],
                    period_end=item["period"]["end"],
                    price=item["price"],
                    quantity=item["quantity"],
                    subscription=None,
                    invoice_item=item["id"],
                    metadata=item["metadata"],
                )
            )
            currency = item["currency"]
            await tx.save(dict(item, invoice=invoice_id))
    collection = p.string("collection_method", "charge_automatically") or "charge_automatically"
    days = p.integer("days_until_due")
    if collection == "send_invoice" and days is None:
        raise invalid("days_until_due is required when collection_method is send_invoice", param="days_until_due")
    default_pm = p.string("default_payment_method")
    if default_pm:
        await tx.get(default_pm, "payment_method", param="default_payment_method")
    data = await new_invoice(
        tx,
        customer=customer,
        lines=lines,
        currency=currency,
        subscription=subscription,
        billing_reason="manual",
        collection_method=collection,
        description=p.string("description"),
        days_until_due=days,
        metadata=merge_metadata({}, p.raw("metadata")),
        invoice_id=invoice_id,
    )
    before = dict(data)
    if p.boolean("auto_advance") is False:
        data["auto_advance"] = False
    apply_fields(data, p, "footer", "default_payment_method")
    if data != before:
        await tx.save(data)
    return data


async def finalize(tx: Tx, inv: dict[str, Any]) -> dict[str, Any]:
    """draft → open (``invoice.finalized``); an invoice of nothing is paid at once."""
    if inv["status"] != "draft":
        return inv
    customer_id = inv["customer"]
    found = await tx.get(customer_id, "customer", include_deleted=True)
    customer = found.data
    sequence = max(await tx.number(f"invoice:{customer_id}"), int(customer.get("next_invoice_sequence") or 1))
    await tx.save(dict(customer, next_invoice_sequence=sequence + 1))
    customer = dict(customer, next_invoice_sequence=sequence + 1)
    ending_balance = await _apply_customer_balance(tx, inv, customer, deleted=found.deleted)
    inv.update(
        status="open",
        number=f"{customer['invoice_prefix']}-{sequence:04d}",
        ending_balance=ending_balance,
        hosted_invoice_url=f"{FAKE_HOST}/invoices/{inv['id']}",
        invoice_pdf=f"{FAKE_HOST}/invoices/{inv['id']}/pdf",
        status_transitions=dict(inv["status_transitions"], finalized_at=tx.now),
    )
    if inv["collection_method"] != "charge_automatically":
        inv["next_payment_attempt"] = None
    await tx.save(inv)
    await tx.emit("invoice.finalized", inv)
    if inv["amount_due"] == 0:
        await mark_paid(tx, inv, None)
    return inv


async def _apply_customer_balance(tx: Tx, inv: dict[str, Any], customer: dict[str, Any], *, deleted: bool) -> int:
    """Use the customer's balance on ``inv`` (a credit lowers what is due, a debit raises it) and return what
    remains of it; the use is an ``applied_to_invoice`` balance transaction and a ``customer.updated``."""
    balance = int(customer.get("balance") or 0)
    if balance == 0 or deleted or (customer.get("currency") or inv["currency"]) != inv["currency"]:
        return balance
    due = int(inv["amount_due"])
    applied = balance if balance > 0 else max(balance, -due)
    if applied == 0:
        return balance
    inv.update(starting_balance=applied, amount_due=due + applied, amount_remaining=due + applied)
    after = copy.deepcopy(customer)
    await balances.record(
        tx, after, amount=-applied, currency=inv["currency"], type_="applied_to_invoice", invoice=inv["id"]
    )
    await tx.save(after)
    await tx.emit("customer.updated", after, before=customer)
    return int(after["balance"])


async def await_payment(tx: Tx, inv: dict[str, Any]) -> None:
    """An open invoice that waits for its customer (``payment_behavior=default_incomplete``): an unconfirmed
    payment intent (``payment_intent.created``) the customer confirms, or ``invoices.pay`` settles."""
    pi = await open_payment_intent(
        tx,
        amount=int(inv["amount_remaining"]),
        currency=inv["currency"],
        customer=inv["customer"],
        description=_charge_description(inv),
        invoice=inv["id"],
    )
    inv["payment_intent"] = pi["id"]
    await tx.save(inv)


async def mark_paid(tx: Tx, inv: dict[str, Any], result: ChargeResult | None) -> None:
    inv.update(
        status="paid",
        paid=True,
        amount_paid=inv["amount_due"],
        amount_remaining=0,
        attempted=True,
        next_payment_attempt=None,
        auto_advance=False,
        status_transitions=dict(inv["status_transitions"], paid_at=tx.now),
    )
    if result is not None:
        inv.update(
            attempt_count=inv["attempt_count"] + 1,
            charge=result.charge["id"] if result.charge else None,
            payment_intent=result.payment_intent["id"],
        )
    await tx.save(inv)
    await tx.emit("invoice.paid", inv)
    await tx.emit("invoice.payment_succeeded", inv)
    await sync_subscription(tx, inv, paid=True)


async def payment_method_for(tx: Tx, inv: dict[str, Any], override: str | None = None) -> StoredObject | None:
    """Which payment method pays ``inv``: the one given, the invoice's, the subscription's, the customer's."""
    if override:
        pm = await methods.resolve(tx, override)
        if not pm.data.get("customer"):
            pm = await methods.attach(tx, pm.id, inv["customer"])
        return pm
    candidates = [inv.get("default_payment_method")]
    if inv.get("subscription"):
        sub = await tx.find(inv["subscription"])
        if sub is not None:
            candidates.append(sub.data.get("default_payment_method"))
    customer = await tx.get(inv["customer"], "customer", include_deleted=True)
    candidates.append(customer.data["invoice_settings"].get("default_payment_method"))
    for pm_id in candidates:
        if pm_id:
            found = await tx.find(pm_id)
            if found is not None and found.object == "payment_method":
                return found
    return None


async def attempt_payment(tx: Tx, inv: dict[str, Any], pm: StoredObject | None) -> ChargeResult | None:
    """Try to collect an open invoice. Paid: ``invoice.paid`` + ``invoice.payment_succeeded``; declined:
    ``invoice.payment_failed``; needing 3-D Secure: ``invoice.payment_action_required``."""
    if inv["status"] != "open":
        return None
    if pm is None:
        inv.update(attempted=True, attempt_count=inv["attempt_count"] + 1, next_payment_attempt=None)
        await tx.save(inv)
        await tx.emit("invoice.payment_failed", inv)
        await sync_subscription(tx, inv, paid=False)
        return None
    result = await charge_payment_method(
        tx,
        amount=int(inv["amount_remaining"]),
        currency=inv["currency"],
        customer=inv["customer"],
        pm=pm,
        description=_charge_description(inv),
        invoice=inv["id"],
    )
    if result.succeeded:
        await mark_paid(tx, inv, result)
        return result
    inv.update(
        attempted=True,
        attempt_count=inv["attempt_count"] + 1,
        payment_intent=result.payment_intent["id"],
        charge=result.charge["id"] if result.charge else None,
    )
    if result.requires_action:
        await tx.save(inv)
        await tx.emit("invoice.payment_action_required", inv)
        return result
    inv["next_payment_attempt"] = (
        tx.now + RETRY_AFTER_FAILURE if inv["billing_reason"] == "subscription_cycle" else None
    )
    await tx.save(inv)
    await tx.emit("invoice.payment_failed", inv)
    await sync_subscription(tx, inv, paid=False)
    return result


def _charge_description(inv: dict[str, Any]) -> str:
    return (
        "Subscription creation"
        if inv["billing_reason"] == "subscription_create"
        else ("Subscription update" if inv["billing_reason"] == "subscription_cycle" else f"Invoice {inv['number']}")
    )


async def sync_subscription(tx: Tx, inv: dict[str, Any], *, paid: bool) -> None:
    """A paid invoice revives its subscription; a failed renewal makes it ``past_due``."""
    if not inv.get("subscription"):
        return
    found = await tx.find(inv["subscription"])
    if found is None:
        return
    before = found.data
    status = before["status"]
    if paid and status in {"incomplete", "past_due", "unpaid"}:
        status = "active"
    elif not paid and status == "active" and inv["billing_reason"] == "subscription_cycle":
        status = "past_due"
    if status != before["status"]:
        after = dict(before, status=status)
        await tx.save(after)
        await tx.emit("customer.subscription.updated", after, before=before)


async def pay_invoice(tx: Tx, p: Params, invoice_id: str) -> dict[str, Any]:
    """``POST /v1/invoices/{id}/pay``: finalize if needed, charge; a decline answers 402 after committing."""
    inv = (await tx.get(invoice_id, "invoice")).data
    if inv["status"] == "paid":
        raise invalid("Invoice is already paid", code="invoice_already_paid")
    if inv["status"] == "void":
        raise invalid("You cannot pay a void invoice.", code="invoice_not_editable")
    if inv["status"] == "uncollectible":
        inv["status"] = "open"
    await finalize(tx, inv)
    if inv["status"] == "paid":
        return inv
    if p.boolean("paid_out_of_band"):
        inv["paid_out_of_band"] = True
        await mark_paid(tx, inv, None)
        return inv
    result = await attempt_payment(tx, inv, await payment_method_for(tx, inv, p.string("payment_method")))
    if result is None and inv["status"] != "paid":
        tx.error = invalid(
            "This customer has no attached payment source or default payment method.",
            code="invoice_no_customer_payment_method",
        )
    elif result is not None and not result.succeeded:
        tx.error = result.card_error()
    return inv


async def finalize_invoice(tx: Tx, p: Params, invoice_id: str) -> dict[str, Any]:
    inv = (await tx.get(invoice_id, "invoice")).data
    if inv["status"] != "draft":
        raise invalid("This invoice is already finalized.", code="invoice_not_editable")
    if p.boolean("auto_advance") is not None:
        inv["auto_advance"] = bool(p.boolean("auto_advance"))
    return await finalize(tx, inv)


async def void_invoice(tx: Tx, p: Params, invoice_id: str) -> dict[str, Any]:
    before = (await tx.get(invoice_id, "invoice")).data
    if before["status"] not in {"open", "uncollectible"}:
        raise invalid(f"You can only void open invoices (this one is {before['status']}).", code="invoice_not_editable")
    after = dict(
        before,
        status="void",
        amount_remaining=0,
        next_payment_attempt=None,
        auto_advance=False,
        status_transitions=dict(before["status_transitions"], voided_at=tx.now),
    )
    await tx.save(after)
    await tx.emit("invoice.voided", after)
    await tx.emit("invoice.updated", after, before=before)
    return after


async def mark_uncollectible(tx: Tx, p: Params, invoice_id: str) -> dict[str, Any]:
    before = (await tx.get(invoice_id, "invoice")).data
    if before["status"] != "open":
        raise invalid("You can only mark open invoices uncollectible.", code="invoice_not_editable")
    after = dict(
        before,
        status="uncollectible",
        next_payment_attempt=None,
        auto_advance=False,
        status_transitions=dict(before["status_transitions"], marked_uncollectible_at=tx.now),
    )
    await tx.save(after)
    await tx.emit("invoice.marked_uncollectible", after)
    await tx.emit("invoice.updated", after, before=before)
    await _leave_unpaid(tx, after)
    return after


async def _leave_unpaid(tx: Tx, inv: dict[str, Any]) -> None:
    """Writing off a past-due subscription's invoice leaves the subscription ``unpaid`` — the fake's model of
    the account setting "when retries end, mark the subscription unpaid", which is what remit's dunning
    sweeper asks for with this call (``customer.subscription.updated``)."""
    found = await tx.find(inv["subscription"]) if inv.get("subscription") else None
    if found is None or found.data["status"] != "past_due":
        return
    before = found.data
    after = dict(before, status="unpaid")
    await tx.save(after)
    await tx.emit("customer.subscription.updated", after, before=before)


async def send_invoice(tx: Tx, p: Params, invoice_id: str) -> dict[str, Any]:
    inv = (await tx.get(invoice_id, "invoice")).data
    if inv["collection_method"] != "send_invoice":
        raise invalid(
            "You can only manually send an invoice if its collection method is 'send_invoice'.",
            code="invoice_not_editable",
        )
    await finalize(tx, inv)
    await tx.emit("invoice.sent", inv)
    return inv


_DRAFT_ONLY = ("collection_method", "days_until_due", "default_payment_method", "footer")


async def update_invoice(tx: Tx, p: Params, invoice_id: str) -> dict[str, Any]:
    """``POST /v1/invoices/{id}``: metadata, description and ``auto_advance`` always; how it is collected
    (``days_until_due`` sets its ``due_date``) and its footer while it is a draft. ``invoice.updated`` with
    what changed."""
    before = (await tx.get(invoice_id, "invoice")).data
    after = dict(before, metadata=merge_metadata(before["metadata"], p.raw("metadata")))
    if "description" in p.data:
        after["description"] = p.string("description")
    if p.boolean("auto_advance") is not None:
        after["auto_advance"] = bool(p.boolean("auto_advance"))
    changing = [key for key in _DRAFT_ONLY if key in p.data]
    if changing and before["status"] != "draft":
        raise invalid(
            f"You can only update {changing[0]} on a draft invoice (this one is {before['status']}).",
            param=changing[0],
            code="invoice_not_editable",
        )
    if p.has("default_payment_method"):
        await tx.get(p.require_str("default_payment_method"), "payment_method", param="default_payment_method")
    apply_fields(after, p, *(key for key in changing if key != "days_until_due"))
    days = p.integer("days_until_due")
    if days is not None:
        after["due_date"] = int(before["created"]) + days * 86400
    if after["collection_method"] == "send_invoice" and after["due_date"] is None:
        raise invalid("days_until_due is required when collection_method is send_invoice", param="days_until_due")
    if after["collection_method"] == "charge_automatically":
        after["due_date"] = None
    if after != before:
        await tx.save(after)
        await tx.emit("invoice.updated", after, before=before)
    return after


async def retrieve_invoice(tx: Tx, p: Params, invoice_id: str) -> dict[str, Any]:
    return (await tx.get(invoice_id, "invoice")).data


async def list_invoice_lines(tx: Tx, p: Params, invoice_id: str) -> dict[str, Any]:
    """``GET /v1/invoices/{id}/lines``: every line of the invoice, a page at a time, from the stored invoice
    (whose ``lines`` is always whole: only what the fake returns and emits is cut to the first ten)."""
    inv = (await tx.get(invoice_id, "invoice", param="invoice")).data
    lines = [dict(line, invoice=invoice_id) for line in inv["lines"]["data"]]
    return listing.page(lines, p, url=f"/v1/invoices/{invoice_id}/lines", object_type="line_item")


async def update_invoice_line(tx: Tx, p: Params, invoice_id: str, line_id: str) -> dict[str, Any]:
    """``POST /v1/invoices/{id}/lines/{line}``: a draft's line's description and metadata;
    ``invoice.updated``."""
    before = (await tx.get(invoice_id, "invoice")).data
    if before["status"] != "draft":
        raise invalid(
            f"You can only update lines of a draft invoice (this one is {before['status']}).",
            code="invoice_not_editable",
        )
    after = copy.deepcopy(before)
    lines = [line for line in after["lines"]["data"] if line["id"] == line_id]
    if not lines:
        raise ApiError(
            404, INVALID_REQUEST, f"No such invoice line item: '{line_id}'", code="resource_missing", param="id"
        )
    apply_fields(lines[0], p, "description", "metadata")
    if after != before:
        await tx.save(after)
        await tx.emit("invoice.updated", after, before=before)
    return dict(lines[0], invoice=invoice_id)


async def list_invoices(tx: Tx, p: Params) -> dict[str, Any]:
    return await listed(
        tx,
        p,
        "invoice",
        url="/v1/invoices",
        customer=p.string("customer"),
        where=[equal_to(p, "subscription", "status", "collection_method")],
    )


async def search_invoices(tx: Tx, p: Params) -> dict[str, Any]:
    return await searched(tx, p, "invoice", "invoices")


async def delete_invoice(tx: Tx, p: Params, invoice_id: str) -> dict[str, Any]:
    """``DELETE /v1/invoices/{id}`` (drafts only): ``invoice.deleted``; its invoice items are pending again."""
    inv = (await tx.get(invoice_id, "invoice")).data
    if inv["status"] != "draft":
        raise invalid(
            "You can only delete draft invoices. Void or mark uncollectible an open invoice instead.",
            code="invoice_not_editable",
        )
    for item in await tx.list("invoiceitem", customer=inv["customer"]):
        if item.data["invoice"] == invoice_id:
            await tx.save(dict(item.data, invoice=None))
    await tx.save(inv, deleted=True)
    await tx.emit("invoice.deleted", inv)
    return {"id": invoice_id, "object": "invoice", "deleted": True}


__all__ = [
    "attempt_payment",
    "await_payment",
    "create_invoice",
    "delete_invoice",
    "finalize",
    "finalize_invoice",
    "list_invoice_lines",
    "list_invoices",
    "mark_paid",
    "mark_uncollectible",
    "new_invoice",
    "pay_invoice",
    "payment_method_for",
    "retrieve_invoice",
    "search_invoices",
    "send_invoice",
    "sync_subscription",
    "update_invoice",
    "update_invoice_line",
    "void_invoice",
]
