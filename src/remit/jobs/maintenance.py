"""The engine's own upkeep, as periodic tasks: rescue the jobs nobody runs, prune old jobs.

Both are leader-only :class:`~remit.periodic.PeriodicTask`\\ s run inline by the scheduler, like any part's
periodic work (logged, counted, recorded, listed by ``remit schedule list``). They are safe to run on two
processes at once (every write is guarded); leadership only keeps the work from being done many times over.
"""

from __future__ import annotations

import logging
from collections import Counter
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


_WORKER_LOST = ("WorkerLost", "the worker running this job stopped heartbeating")
_RUN_LOST = ("RunLost", "the worker this job was claimed for does not hold it (its claim or outcome was lost)")


async def rescue_orphans(engine: Engine, *, lease: timedelta | None = None) -> int:
    """Return to their queue the executing jobs nobody runs: those of workers silent for longer than the
    lease, and those a live worker's heartbeat says it does not hold (a claim that committed while the worker
    saw its connection fail; an outcome it gave up writing at shutdown).

    A rescued run counts as a spent attempt (its worker may have done part of the work); on its last attempt
    the job is discarded, with the discard hooks, instead. A worker's late write for a rescued run matches no
    row (every change names the run's attempt).
    """
    lease = lease or timedelta(seconds=engine.settings.lease_seconds)
    now = engine.clock.now()
    async with engine.db.begin() as conn:
        plans = []
        found = [(job, _WORKER_LOST) for job in await maintenance.orphaned(conn, now=now, lease=lease)]
        found += [(job, _RUN_LOST) for job in await maintenance.not_held(conn, now=now, lease=lease)]
        for job, (kind, message) in found:
            error = {"attempt": job.attempt, "at": now.isoformat(), "type": kind, "message": message}
            errors = [*(job.errors or []), error]
            if job.is_last_attempt:
                plan = Plan(JobState.DISCARDED, {"errors": errors})
            else:
                plan = Plan(JobState.AVAILABLE, {"errors": errors, "scheduled_at": now, "attempted_by": None})
            if await settle(conn, engine.registry, job, plan, now=now):
                plans.append((job, plan, kind))
    for job, plan, _kind in plans:
        metrics.jobs_rescued_total.labels(queue=job.queue).inc()
        if plan.target is JobState.DISCARDED:
            count(job, plan)
    if plans:
        kinds = Counter(kind for _job, _plan, kind in plans)
        log.warning(
            "rescued orphaned jobs",
            extra={"count": len(plans), "worker_lost": kinds["WorkerLost"], "run_lost": kinds["RunLost"]},
        )
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
