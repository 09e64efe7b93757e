"""Credit notes: create (an open invoice then owes less, a paid one is credited), list, retrieve, update the
memo and metadata, void."""

from __future__ import annotations

import copy
from typing import Any

from remit.processor.fake.errors import invalid, parameter_missing
from remit.processor.fake.ops.common import apply_fields, equal_to, listed
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.shapes import billing as shapes
from remit.processor.fake.tx import Tx


async def create_credit_note(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/credit_notes``: ``credit_note.created``; an open invoice owes that much less."""
    inv = (await tx.get(p.require_str("invoice"), "invoice", param="invoice")).data
    if inv["status"] not in {"open", "paid"}:
        raise invalid("You can only create credit notes for open or paid invoices.", code="invoice_not_editable")
    note_id = await tx.new_id("credit_note")
    lines = []
    invoice_lines = {line["id"]: line for line in inv["lines"]["data"]}
    for index, raw in enumerate(p.array("lines")):
        line = Params(raw if isinstance(raw, dict) else {})
        kind = line.string("type", "custom_line_item")
        credited: dict[str, Any] | None = None
        if kind == "invoice_line_item":
            name = f"lines[{index}][invoice_line_item]"
            credited = invoice_lines.get(line.require_str("invoice_line_item"))
            if credited is None:
                raise invalid(
                    f"The invoice {inv['id']} has no line item {line.string('invoice_line_item')}.", param=name
                )
            quantity = line.integer("quantity", credited["quantity"] or 1) or 1
            unit = int(credited["amount"]) // max(int(credited["quantity"] or 1), 1)
            amount = line.integer("amount", unit * quantity) or 0
        else:
            quantity = line.integer("quantity", 1) or 1
            unit = line.integer("unit_amount", 0) or 0
            amount = line.integer("amount", unit * quantity) or 0
        entry: dict[str, Any] = {
            "id": f"cnli_{note_id}_{index}",
            "object": "credit_note_line_item",
            "amount": amount,
            "description": line.string("description") or (credited or {}).get("description"),
            "quantity": quantity,
            "type": kind,
            "unit_amount": line.integer("unit_amount") if credited is None else unit,
        }
        if credited is not None:
            entry["invoice_line_item"] = credited["id"]
        lines.append(entry)
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
    credited_total = sum(int(entry["amount"]) for entry in lines)
    left = (
        int(inv["total"]) - int(inv["pre_payment_credit_notes_amount"]) - int(inv["post_payment_credit_notes_amount"])
    )
    if credited_total > left:
        raise invalid(
            f"The credit note's amount ({credited_total}) is more than is left to credit on the invoice ({left}).",
            param="lines" if p.array("lines") else "amount",
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


async def retrieve_credit_note(tx: Tx, p: Params, note_id: str) -> dict[str, Any]:
    return (await tx.get(note_id, "credit_note")).data


async def list_credit_notes(tx: Tx, p: Params) -> dict[str, Any]:
    return await listed(
        tx, p, "credit_note", url="/v1/credit_notes", customer=p.string("customer"), where=[equal_to(p, "invoice")]
    )


async def update_credit_note(tx: Tx, p: Params, note_id: str) -> dict[str, Any]:
    """``POST /v1/credit_notes/{id}``: memo and metadata; ``credit_note.updated``."""
    before = (await tx.get(note_id, "credit_note")).data
    after = copy.deepcopy(before)
    apply_fields(after, p, "memo", "metadata")
    if after != before:
        await tx.save(after)
        await tx.emit("credit_note.updated", after, before=before)
    return after


async def void_credit_note(tx: Tx, p: Params, note_id: str) -> dict[str, Any]:
    """``POST /v1/credit_notes/{id}/void``: ``credit_note.voided``; an open invoice owes the amount again."""
    note = (await tx.get(note_id, "credit_note")).data
    if note["status"] == "void":
        raise invalid("This credit note has already been voided.", code="credit_note_already_voided")
    inv = (await tx.get(note["invoice"], "invoice")).data
    voided = dict(note, status="void", voided_at=tx.now)
    await tx.save(voided)
    await tx.emit("credit_note.voided", voided)
    before = dict(inv)
    if inv["status"] == "open":
        inv["pre_payment_credit_notes_amount"] -= note["amount"]
        inv["amount_due"] += note["amount"]
        inv["amount_remaining"] += note["amount"]
    else:
        inv["post_payment_credit_notes_amount"] -= note["amount"]
    await tx.save(inv)
    await tx.emit("invoice.updated", inv, before=before)
    return voided


__all__ = ["create_credit_note", "list_credit_notes", "retrieve_credit_note", "update_credit_note", "void_credit_note"]
