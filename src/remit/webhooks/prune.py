"""Pruning old webhook events: processed ones after 14 days, dead ones after 90 (both configurable).

Only ``processed`` and ``dead`` events are ever deleted — anything still on its way (held, received,
processing, failed) is kept however old. Deletes run in batches, one transaction each, so a large backlog
never holds long locks on the table ingest writes to. The ledger keeps its ``webhook.received`` entries (it
is append-only); the job engine prunes the finished dispatch jobs on its own schedule.

Runs daily as the periodic task ``webhooks.prune`` (:data:`PRUNE_TASK`: cron ``17 3 * * *``, leader only,
enqueued on ``remit_maintenance``) and on demand with ``remit webhooks prune [--dry-run]``. A real prune writes
an audit row with each batch it deletes (in that batch's transaction) and emits ``webhook_dlq.prune``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit import audit
from remit.config import Settings
from remit.db.tables import webhook_events
from remit.jobs.context import PeriodicContext
from remit.periodic import Counts, Cron, PeriodicTask
from remit.runtime import Runtime
from remit.telemetry import ops
from remit.webhooks.events import EventStatus

PRUNE_BATCH = 1000
#: The periodic task's name: its metric label, its row in ``remit schedule list``.
PRUNE_TASK_NAME = "webhooks.prune"


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """Processed events finished before ``processed_before`` and dead ones before ``dead_before`` go."""

    processed_before: datetime
    dead_before: datetime


def cutoffs(now: datetime, settings: Settings) -> Cutoffs:
    """The retention cut-offs as of ``now`` (pure)."""
    return Cutoffs(
        processed_before=now - timedelta(days=settings.webhook_processed_retention_days),
        dead_before=now - timedelta(days=settings.webhook_dead_retention_days),
    )


@dataclass(frozen=True, slots=True)
class PruneResult:
    processed: int
    dead: int
    dry_run: bool
    cutoffs: Cutoffs

    @property
    def total(self) -> int:
        return self.processed + self.dead

    def to_json(self) -> dict[str, Any]:
        return {
            "processed": self.processed,
            "dead": self.dead,
            "total": self.total,
            "dry_run": self.dry_run,
            "processed_before": self.cutoffs.processed_before.isoformat(),
            "dead_before": self.cutoffs.dead_before.isoformat(),
        }


def _expired(status: EventStatus, before: datetime) -> Any:
    column = webhook_events.c.processed_at if status is EventStatus.PROCESSED else webhook_events.c.dead_at
    return sa.and_(webhook_events.c.status == status.value, column < before)


async def _count(conn: AsyncConnection, condition: Any) -> int:
    return int(
        (await conn.execute(sa.select(sa.func.count()).select_from(webhook_events).where(condition))).scalar_one()
    )


async def _delete_batch(conn: AsyncConnection, condition: Any, batch: int) -> int:
    ids = sa.select(webhook_events.c.id).where(condition).order_by(webhook_events.c.id).limit(batch)
    stmt = sa.delete(webhook_events).where(webhook_events.c.id.in_(ids.scalar_subquery()), condition)
    return (await conn.execute(stmt)).rowcount


async def prune_events(
    runtime: Runtime, *, dry_run: bool = False, actor: str = "system", batch: int = PRUNE_BATCH
) -> PruneResult:
    """Delete (or with ``dry_run`` only count) processed and dead events past their retention."""
    now = runtime.clock.now()
    limits = cutoffs(now, runtime.settings)
    conditions = {
        EventStatus.PROCESSED: _expired(EventStatus.PROCESSED, limits.processed_before),
        EventStatus.DEAD: _expired(EventStatus.DEAD, limits.dead_before),
    }
    deleted = {EventStatus.PROCESSED: 0, EventStatus.DEAD: 0}
    if dry_run:
        async with runtime.db.connect() as conn:
            for status, condition in conditions.items():
                deleted[status] = await _count(conn, condition)
        return PruneResult(deleted[EventStatus.PROCESSED], deleted[EventStatus.DEAD], True, limits)
    for status, condition in conditions.items():
        before = limits.processed_before if status is EventStatus.PROCESSED else limits.dead_before
        while True:
            async with runtime.db.begin() as conn:
                removed = await _delete_batch(conn, condition, batch)
                if removed:
                    await audit.record(
                        conn,
                        at=now,
                        actor=actor,
                        action="webhooks.prune",
                        subject="webhook_events",
                        details={"status": status.value, "deleted": removed, "before": before.isoformat()},
                    )
            deleted[status] += removed
            if removed < batch:
                break
    result = PruneResult(deleted[EventStatus.PROCESSED], deleted[EventStatus.DEAD], False, limits)
    ops.emit(
        "webhook_dlq.prune",
        actor=actor,
        deleted=result.total,
        processed=result.processed,
        dead=result.dead,
        dry_run=False,
    )
    return result


async def prune_on_schedule(ctx: PeriodicContext[Runtime]) -> Counts:
    """The scheduled prune (periodic task ``webhooks.prune``), acting as ``cron`` in the audit trail."""
    result = await prune_events(ctx.app, actor="cron")
    return {"processed": result.processed, "dead": result.dead}


#: Daily at 03:17, on the leader, as a job on ``remit_maintenance`` (it may delete many rows in batches).
PRUNE_TASK: PeriodicTask[PeriodicContext[Runtime]] = PeriodicTask(
    PRUNE_TASK_NAME, Cron("17 3 * * *"), prune_on_schedule, queue="remit_maintenance"
)

__all__ = [
    "PRUNE_TASK",
    "PRUNE_TASK_NAME",
    "Cutoffs",
    "PruneResult",
    "cutoffs",
    "prune_events",
    "prune_on_schedule",
]
