"""Money signals raised once: the guard behind ``charge_failed``, ``incomplete_expired`` and ``revenue_loss``.

A business event reaches remit more than once — ``invoice.payment_failed`` and ``charge.failed`` for one
declined charge, a replayed webhook, a reconciler pass that runs twice — but its ops event must fire once.
:func:`claim` inserts the signal's key (``ON CONFLICT DO NOTHING``) in the caller's transaction and says
whether this caller won; only the winner emits, after its transaction commits, so an event is never emitted
for work that rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db import statements
from remit.db.tables import money_signals

_CLAIM = statements.upsert(
    money_signals, columns=[column.name for column in money_signals.c], conflict=("key",), returning=("key",)
)


@dataclass(frozen=True, slots=True)
class Signal:
    """One money signal: the ops event it raises, its once-only key and what the row records."""

    event: str
    key: str
    subject_type: str
    subject_id: str
    reason: str | None = None
    amount: int | None = None
    currency: str | None = None


async def claim(conn: AsyncConnection, signal: Signal, now: datetime) -> bool:
    """Record ``signal`` in the caller's transaction; True when no signal with its key was recorded before."""
    values: dict[str, Any] = {
        "key": signal.key[:255],
        "event": signal.event,
        "reason": signal.reason,
        "subject_type": signal.subject_type,
        "subject_id": signal.subject_id[:255],
        "amount": signal.amount,
        "currency": signal.currency,
        "created_at": now,
    }
    return (await conn.execute(_CLAIM, values)).scalar_one_or_none() is not None


__all__ = ["Signal", "claim"]
