"""Charges (made by payments, never created directly: the legacy Charges API is not served): retrieve, update,
list, search."""

from __future__ import annotations

import copy
from typing import Any

from remit.processor.fake.ops.common import apply_fields, equal_to, listed, searched
from remit.processor.fake.params import Params
from remit.processor.fake.tx import Tx


async def retrieve_charge(tx: Tx, p: Params, charge_id: str) -> dict[str, Any]:
    return (await tx.get(charge_id, "charge")).data


async def list_charges(tx: Tx, p: Params) -> dict[str, Any]:
    return await listed(
        tx, p, "charge", url="/v1/charges", customer=p.string("customer"), where=[equal_to(p, "payment_intent")]
    )


async def search_charges(tx: Tx, p: Params) -> dict[str, Any]:
    return await searched(tx, p, "charge", "charges")


async def update_charge(tx: Tx, p: Params, charge_id: str) -> dict[str, Any]:
    """``POST /v1/charges/{id}``: description, metadata, receipt email, shipping, a fraud report;
    ``charge.updated``."""
    before = (await tx.get(charge_id, "charge")).data
    after = copy.deepcopy(before)
    apply_fields(after, p, "description", "metadata", "receipt_email", "shipping")
    report = p.sub("fraud_details")
    if "user_report" in report.data:
        after["fraud_details"] = {"user_report": report.string("user_report")} if report.string("user_report") else {}
    if after != before:
        await tx.save(after)
        await tx.emit("charge.updated", after, before=before)
    return after


__all__ = ["list_charges", "retrieve_charge", "search_charges", "update_charge"]
