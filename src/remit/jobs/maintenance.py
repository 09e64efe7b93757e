"""The engine's own upkeep, as periodic tasks: rescue the jobs of dead workers, prune old jobs.

Both are leader-only :class:`~remit.periodic.PeriodicTask`\\ s run inline by the scheduler, like any part's
periodic work (logged, counted, recorded, listed by ``remit schedule list``). They are safe to run on two
processes at once (every write is guarded); leadership only keeps the work from being done many times over.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from remit.jobs.context import PeriodicContext
from remit.jobs.outcomes import Plan
from remit.jobs.settle import count, settle
from remit.jobs.states import JobState
from remit.jobs.store import maintenance, workers
from remit.periodic import Counts, Every, PeriodicTask
from remit.telemetry import metrics

if TYPE_CHECKING:
    from remit.jobs.engine import Engine

log = logging.getLogger("remit.jobs")

RESCUE_TASK = "jobs.rescue"
PRUNE_TASK = "jobs.prune"
#: How often finished jobs are pruned.
PRUNE_INTERVAL = 60.0


async def rescue_orphans(engine: Engine, *, lease: timedelta | None = None) -> int:
    """Return to their queue the executing jobs of workers silent for longer than the lease.

    A rescued run counts as a spent attempt (its worker may have done part of the work); on its last attempt
    the job is discarded, with the discard hooks, instead.
    """
    lease = lease or timedelta(seconds=engine.settings.lease_seconds)
    now = engine.clock.now()
    async with engine.db.begin() as conn:
        plans = []
        for job in await maintenance.orphaned(conn, now=now, lease=lease):
            error = {
                "attempt": job.attempt,
                "at": now.isoformat(),
                "type": "WorkerLost",
                "message": "the worker running this job stopped heartbeating",
            }
            errors = [*(job.errors or []), error]
            if job.is_last_attempt:
                plan = Plan(JobState.DISCARDED, {"errors": errors})
            else:
                plan = Plan(JobState.AVAILABLE, {"errors": errors, "scheduled_at": now, "attempted_by": None})
            if await settle(conn, engine.registry, job, plan, now=now):
                plans.append((job, plan))
    for job, plan in plans:
        metrics.jobs_rescued_total.labels(queue=job.queue).inc()
        if plan.target is JobState.DISCARDED:
            count(job, plan)
    if plans:
        log.warning("rescued orphaned jobs", extra={"count": len(plans)})
    return len(plans)


async def prune_jobs(engine: Engine) -> int:
    """Delete completed and cancelled jobs past their retention, discarded ones past theirs; forget workers
    silent for ten leases."""
    settings, now = engine.settings, engine.clock.now()
    deleted = 0
    async with engine.db.begin() as conn:
        deleted += await maintenance.prune(
            conn,
            states=[JobState.COMPLETED, JobState.CANCELLED],
            before=now - timedelta(hours=settings.completed_retention_hours),
        )
        deleted += await maintenance.prune(
            conn,
            states=[JobState.DISCARDED],
            before=now - timedelta(days=settings.discarded_retention_days),
        )
        await workers.forget_dead(conn, before=now - timedelta(seconds=settings.lease_seconds * 10))
    if deleted:
        log.info("pruned finished jobs", extra={"count": deleted})
    return deleted


async def _rescue(ctx: PeriodicContext[Any]) -> Counts:
    return {"rescued": await rescue_orphans(ctx.engine)}


async def _prune(ctx: PeriodicContext[Any]) -> Counts:
    return {"deleted": await prune_jobs(ctx.engine)}


def maintenance_tasks(lease_seconds: float, leader_tick: float) -> list[PeriodicTask[PeriodicContext[Any]]]:
    """The engine's upkeep: rescue every quarter lease (at least once per leader tick), prune every minute."""
    return [
        PeriodicTask(RESCUE_TASK, Every(max(lease_seconds / 4, leader_tick)), _rescue),
        PeriodicTask(PRUNE_TASK, Every(PRUNE_INTERVAL), _prune),
    ]


__all__ = ["PRUNE_TASK", "RESCUE_TASK", "maintenance_tasks", "prune_jobs", "rescue_orphans"]
