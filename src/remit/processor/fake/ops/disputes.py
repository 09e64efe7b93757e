"""Disputes (opened by a disputing test card, see :func:`~remit.processor.fake.ops.payments.open_dispute`):
list, retrieve, update evidence and metadata, close (accept)."""

from __future__ import annotations

import copy
from typing import Any

from remit.processor.fake.errors import invalid
from remit.processor.fake.ops.common import equal_to, listed
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.tx import Tx


async def retrieve_dispute(tx: Tx, p: Params, dispute_id: str) -> dict[str, Any]:
    return (await tx.get(dispute_id, "dispute")).data


async def list_disputes(tx: Tx, p: Params) -> dict[str, Any]:
    return await listed(tx, p, "dispute", url="/v1/disputes", where=[equal_to(p, "charge", "payment_intent")])


async def update_dispute(tx: Tx, p: Params, dispute_id: str) -> dict[str, Any]:
    """``POST /v1/disputes/{id}``: evidence (kept), metadata; ``submit`` sends it (status
    ``under_review``). ``charge.dispute.updated``."""
    before = (await tx.get(dispute_id, "dispute")).data
    if before["status"] in {"won", "lost"}:
        raise invalid(f"This dispute is already closed ({before['status']}).", code="charge_dispute_closed")
    after = copy.deepcopy(before)
    after["metadata"] = merge_metadata(before["metadata"], p.raw("metadata"))
    evidence = p.mapping("evidence")
    if evidence:
        after["evidence"] = dict(before["evidence"], **{key: value or None for key, value in evidence.items()})
        after["evidence_details"] = dict(before["evidence_details"], has_evidence=True)
    if p.boolean("submit") is not False and evidence:
        after["status"] = "under_review"
        after["evidence_details"]["submission_count"] = int(before["evidence_details"]["submission_count"]) + 1
    if after != before:
        await tx.save(after)
        await tx.emit("charge.dispute.updated", after, before=before)
    return after


async def close_dispute(tx: Tx, p: Params, dispute_id: str) -> dict[str, Any]:
    """``POST /v1/disputes/{id}/close``: accept the dispute (``charge.dispute.closed``, status ``lost``)."""
    before = (await tx.get(dispute_id, "dispute")).data
    after = dict(before, status="lost", is_charge_refundable=False)
    await tx.save(after)
    await tx.emit("charge.dispute.closed", after, before=before)
    return after


__all__ = ["close_dispute", "list_disputes", "retrieve_dispute", "update_dispute"]
