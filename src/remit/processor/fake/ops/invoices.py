"""Invoices: items, drafts, finalizing, paying (through the charge core), voiding, sending, credit notes.

Paying an invoice is where the billing state moves: a paid invoice makes its subscription ``active``, a failed
renewal makes it ``past_due``, as Stripe does; both show as ``customer.subscription.updated``.
"""

from __future__ import annotations

from typing import Any

from remit.processor.fake.errors import invalid, parameter_missing
from remit.processor.fake.ops import methods
from remit.processor.fake.ops.payments import ChargeResult, charge_payment_method
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.shapes import billing as shapes
from remit.processor.fake.shapes.sessions import FAKE_HOST
from remit.processor.fake.store import StoredObject, page
from remit.processor.fake.tx import Tx

RETRY_AFTER_FAILURE = 3 * 86400


async def create_invoiceitem(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/invoiceitems``: a pending item the customer's next invoice picks up."""
    customer = p.require_str("customer")
    await tx.get(customer, "customer", param="customer")
    quantity = p.integer("quantity", 1) or 1
    price = None
    if p.has("price"):
        price = (await tx.get(p.require_str("price"), "price", param="price")).data
        amount = int(price["unit_amount"]) * quantity
        currency = price["currency"]
    else:
        unit = p.integer("unit_amount")
        amount_given = p.integer("amount")
        if amount_given is None and unit is None:
            raise parameter_missing("amount")
        amount = amount_given if amount_given is not None else int(unit or 0) * quantity
        currency = (p.string("currency") or "usd").lower()
    data = shapes.invoice_item(
        await tx.new_id("invoiceitem"),
        created=tx.now,
        customer=customer,
        amount=amount,
        currency=currency,
        description=p.string("description"),
        price=price,
        quantity=quantity,
        metadata=merge_metadata({}, p.raw("metadata")),
        subscription=p.string("subscription"),
    )
    await tx.insert(data)
    await tx.emit("invoiceitem.created", data)
    return data


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
) -> dict[str, Any]:
    """Insert a draft invoice and emit ``invoice.created``."""
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
    if collection_method == "charge_automatically":
        data["next_payment_attempt"] = tx.now + 3600
    await tx.insert(data)
    await tx.emit("invoice.created", data)
    return data


async def create_invoice(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/invoices``: a draft from the customer's pending invoice items."""
    customer = (await tx.get(p.require_str("customer"), "customer", param="customer")).data
    invoice_id = await tx.new_id("invoice")
    lines: list[dict[str, Any]] = []
    currency = (p.string("currency") or "usd").lower()
    if p.string("pending_invoice_items_behavior", "include") != "exclude":
        items = [
            obj.data
            for obj in await tx.list("invoiceitem", customer=customer["id"])
            if obj.data["invoice"] is None and not obj.data.get("subscription")
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
    data = await new_invoice(
        tx,
        customer=customer,
        lines=lines,
        currency=currency,
        subscription=None,
        billing_reason="manual",
        collection_method=collection,
        description=p.string("description"),
        days_until_due=days,
        metadata=merge_metadata({}, p.raw("metadata")),
        invoice_id=invoice_id,
    )
    if p.boolean("auto_advance") is False:
        data["auto_advance"] = False
        await tx.save(data)
    return data


async def finalize(tx: Tx, inv: dict[str, Any]) -> dict[str, Any]:
    """draft → open (``invoice.finalized``); an invoice of nothing is paid at once."""
    if inv["status"] != "draft":
        return inv
    customer_id = inv["customer"]
    customer = (await tx.get(customer_id, "customer", include_deleted=True)).data
    sequence = await tx.number(f"invoice:{customer_id}")
    inv.update(
        status="open",
        number=f"{customer['invoice_prefix']}-{sequence:04d}",
        ending_balance=0,
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
    return after


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


async def update_invoice(tx: Tx, p: Params, invoice_id: str) -> dict[str, Any]:
    before = (await tx.get(invoice_id, "invoice")).data
    after = dict(before, metadata=merge_metadata(before["metadata"], p.raw("metadata")))
    if "description" in p.data:
        after["description"] = p.string("description")
    if p.boolean("auto_advance") is not None:
        after["auto_advance"] = bool(p.boolean("auto_advance"))
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
    return page(
        list(inv["lines"]["data"]),
        url=f"/v1/invoices/{invoice_id}/lines",
        limit=p.integer("limit"),
        starting_after=p.string("starting_after"),
    )


async def list_invoices(tx: Tx, p: Params) -> dict[str, Any]:
    customer, subscription, status = p.string("customer"), p.string("subscription"), p.string("status")
    items = [
        obj.data
        for obj in await tx.list("invoice", customer=customer)
        if (subscription is None or obj.data.get("subscription") == subscription)
        and (status is None or obj.data["status"] == status)
    ]
    return page(items, url="/v1/invoices", limit=p.integer("limit"), starting_after=p.string("starting_after"))


async def create_credit_note(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/credit_notes``: ``credit_note.created``; an open invoice owes that much less."""
    inv = (await tx.get(p.require_str("invoice"), "invoice", param="invoice")).data
    if inv["status"] not in {"open", "paid"}:
        raise invalid("You can only create credit notes for open or paid invoices.", code="invoice_not_editable")
    note_id = await tx.new_id("credit_note")
    lines = []
    for index, raw in enumerate(p.array("lines")):
        line = Params(raw if isinstance(raw, dict) else {})
        amount = (line.integer("unit_amount", 0) or 0) * (line.integer("quantity", 1) or 1)
        if line.has("amount"):
            amount = line.integer("amount", 0) or 0
        lines.append(
            {
                "id": f"cnli_{note_id}_{index}",
                "object": "credit_note_line_item",
                "amount": amount,
                "description": line.string("description"),
                "quantity": line.integer("quantity", 1),
                "type": line.string("type", "custom_line_item"),
                "unit_amount": line.integer("unit_amount"),
            }
        )
    if not lines:
        total = p.integer("amount")
        if total is None:
            raise parameter_missing("lines")
        lines.append(
            {
                "id": f"cnli_{note_id}_0",
                "object": "credit_note_line_item",
                "amount": total,
                "description": p.string("memo"),
                "quantity": 1,
                "type": "custom_line_item",
                "unit_amount": total,
            }
        )
    sequence = await tx.number(f"credit_note:{inv['id']}")
    note = shapes.credit_note(
        note_id,
        created=tx.now,
        invoice=inv,
        number=f"{inv['number']}-CN-{sequence:02d}",
        lines=lines,
        memo=p.string("memo"),
        reason=p.string("reason"),
        metadata=merge_metadata({}, p.raw("metadata")),
    )
    await tx.insert(note)
    await tx.emit("credit_note.created", note)
    before = dict(inv)
    if inv["status"] == "open":
        inv["pre_payment_credit_notes_amount"] += note["amount"]
        inv["amount_due"] = max(0, inv["amount_due"] - note["amount"])
        inv["amount_remaining"] = max(0, inv["amount_remaining"] - note["amount"])
    else:
        inv["post_payment_credit_notes_amount"] += note["amount"]
    await tx.save(inv)
    await tx.emit("invoice.updated", inv, before=before)
    return note


__all__ = [
    "attempt_payment",
    "create_credit_note",
    "create_invoice",
    "create_invoiceitem",
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
    "send_invoice",
    "sync_subscription",
    "update_invoice",
    "void_invoice",
]
