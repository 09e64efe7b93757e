"""Keeping ``remit_billing_actions`` small and its session secrets short-lived.

A billing action's row answers repeats of its idempotency key. It is worth keeping while a repeat may still
come: Stripe itself keeps an idempotency key for 24 hours, so after ``REMIT_BILLING_ACTION_RETENTION_DAYS``
(7 by default, at least 1) the row is deleted and a later call with the key is a new action (at Stripe too).
A row is old by its claim (``claimed_at``: when the key was first used, or last taken over), so a call in
flight is never pruned under its caller.

A checkout or portal session's row also holds the session's URL and client secret. A session is dead within
24 hours of its creation (a checkout session expires by then at the latest, a portal session sooner), so
:func:`~remit.billing.action_store.finish` marks the row ``secrets_expire_at`` 24 h on (or at a checkout's
earlier ``expires_at``, see :func:`~remit.billing.action_store.secrets_expire_at`); after that a repeat of
the key is answered :class:`~remit.billing.action_runner.SessionExpired` (HTTP 410 ``session_expired``: make a
new session with a new key) instead of a URL that opens nothing, and this task blanks the URL and client secret
in the stored outcome (``redacted_at``), so the table does not keep them for the rest of the retention.

Both run in batches of :data:`PRUNE_BATCH` rows, one short transaction each, as the periodic task
``billing.prune_actions`` (:data:`PRUNE_TASK`: hourly, leader only, enqueued on ``remit_maintenance``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from remit.billing.action_store import redacted
from remit.db.tables import billing_actions
from remit.jobs.context import PeriodicContext
from remit.periodic import Counts, Cron, PeriodicTask
from remit.runtime import Runtime

T = billing_actions
PRUNE_BATCH = 500
#: The periodic task's name: its metric label, its row in ``remit schedule list``.
PRUNE_TASK_NAME = "billing.prune_actions"


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """Rows deleted (older than ``before``) and session outcomes whose secrets were blanked."""

    deleted: int
    redacted: int
    before: datetime


def cutoff(now: datetime, retention_days: float) -> datetime:
    """Rows claimed before this are past their retention (pure)."""
    return now - timedelta(days=retention_days)


async def delete_old(runtime: Runtime, before: datetime, *, batch: int = PRUNE_BATCH) -> int:
    """Delete the rows claimed before ``before``, ``batch`` at a time, oldest first."""
    deleted = 0
    while True:
        async with runtime.db.begin() as conn:
            ids = sa.select(T.c.id).where(T.c.claimed_at < before).order_by(T.c.claimed_at, T.c.id).limit(batch)
            done = await conn.execute(sa.delete(T).where(T.c.id.in_(ids.scalar_subquery()), T.c.claimed_at < before))
            removed = int(done.rowcount)
        deleted += removed
        if removed < batch:
            return deleted


async def redact_expired(runtime: Runtime, now: datetime, *, batch: int = PRUNE_BATCH) -> int:
    """Blank the URL and client secret of the session outcomes whose ``secrets_expire_at`` has passed."""
    done = 0
    while True:
        async with runtime.db.begin() as conn:
            rows = (
                await conn.execute(
                    sa.select(T.c.id, T.c.result)
                    .where(T.c.secrets_expire_at <= now)
                    .order_by(T.c.secrets_expire_at, T.c.id)
                    .limit(batch)
                )
            ).all()
            for row in rows:
                await conn.execute(
                    sa.update(T)
                    .where(T.c.id == row.id, T.c.secrets_expire_at.is_not(None))
                    .values(
                        result=redacted(row.result) if row.result is not None else sa.null(),
                        secrets_expire_at=None,
                        redacted_at=now,
                    )
                )
        done += len(rows)
        if len(rows) < batch:
            return done


async def prune_actions(runtime: Runtime, *, batch: int = PRUNE_BATCH) -> RetentionResult:
    """Delete the rows past their retention, then blank the expired sessions' secrets among the rest."""
    now = runtime.clock.now()
    before = cutoff(now, runtime.settings.billing_action_retention_days)
    deleted = await delete_old(runtime, before, batch=batch)
    blanked = await redact_expired(runtime, now, batch=batch)
    return RetentionResult(deleted=deleted, redacted=blanked, before=before)


async def prune_on_schedule(ctx: PeriodicContext[Runtime]) -> Counts:
    """The periodic task ``billing.prune_actions``."""
    result = await prune_actions(ctx.app)
    return {"deleted": result.deleted, "redacted": result.redacted}


#: Hourly at :23, on the leader, as a job on ``remit_maintenance`` (it may delete many rows in batches): an
#: expired session's secrets are blanked within the hour.
PRUNE_TASK: PeriodicTask[PeriodicContext[Runtime]] = PeriodicTask(
    PRUNE_TASK_NAME, Cron("23 * * * *"), prune_on_schedule, queue="remit_maintenance"
)

__all__ = [
    "PRUNE_BATCH",
    "PRUNE_TASK",
    "PRUNE_TASK_NAME",
    "RetentionResult",
    "cutoff",
    "delete_old",
    "prune_actions",
    "prune_on_schedule",
    "redact_expired",
]
