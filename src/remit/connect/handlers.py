"""The Connect part's handlers: each turns one processor event into the ops event an operator acts on.

They run after the mirror (dispatch's order), each in its own transaction, and only emit: remit keeps no
Connect accounts of its own. Metadata is identifiers, codes and amounts (:mod:`remit.telemetry.ops`).
"""

from __future__ import annotations

from typing import Any

from remit.connect.events import ACCOUNT_UPDATED, DEAUTHORIZED, PAYOUT_FAILED, account_of, lost_capabilities
from remit.handlers import event_handler
from remit.telemetry import ops
from remit.webhooks.handlers import HandlerContext


def _ids(ctx: HandlerContext) -> dict[str, Any]:
    return {"event_id": ctx.event.id, "processor_event_id": ctx.event.event_id, "account_id": account_of(ctx.payload)}


async def on_deauthorized(ctx: HandlerContext) -> None:
    """``account.application.deauthorized`` → ``connect_account_deauthorized``."""
    ops.emit("connect_account_deauthorized", **_ids(ctx), object_id=ctx.data_object.get("id"))


async def on_account_updated(ctx: HandlerContext) -> int:
    """``account.updated`` → one ``connect_capability_lost`` per capability lost; the number lost."""
    data = ctx.payload.get("data")
    previous = data.get("previous_attributes") if isinstance(data, dict) else None
    lost = lost_capabilities(ctx.data_object, previous if isinstance(previous, dict) else {})
    for item in lost:
        ops.emit("connect_capability_lost", **_ids(ctx), capability=item.capability, status=item.status)
    return len(lost)


async def on_payout_failed(ctx: HandlerContext) -> None:
    """``payout.failed`` → ``connect_payout_failed``."""
    payout = ctx.data_object
    ops.emit(
        "connect_payout_failed",
        **_ids(ctx),
        payout_id=payout.get("id"),
        amount=payout.get("amount"),
        currency=payout.get("currency"),
        failure_code=payout.get("failure_code"),
    )


DEAUTHORIZED_HANDLER = event_handler(DEAUTHORIZED, on_deauthorized, name="remit.connect.deauthorized")
CAPABILITY_HANDLER = event_handler(ACCOUNT_UPDATED, on_account_updated, name="remit.connect.capabilities")
PAYOUT_HANDLER = event_handler(PAYOUT_FAILED, on_payout_failed, name="remit.connect.payout_failed")

HANDLERS = (DEAUTHORIZED_HANDLER, CAPABILITY_HANDLER, PAYOUT_HANDLER)

__all__ = ["HANDLERS", "on_account_updated", "on_deauthorized", "on_payout_failed"]
