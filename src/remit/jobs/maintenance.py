"""Leader-only upkeep: rescue the jobs of dead workers, prune old jobs, forget dead workers.

Each task has the same shape — one function of the runtime that acts once and returns a count — and the
worker's leader loop calls them on their intervals. They are safe to run on two processes at once (every
write is guarded), leadership only keeps the work from being done many times over.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from remit.jobs import store
from remit.jobs.outcomes import Plan
from remit.jobs.settle import count, settle
from remit.jobs.states import JobState
from remit.runtime import Runtime
from remit.telemetry import metrics

log = logging.getLogger("remit.jobs")


async def rescue_orphans(runtime: Runtime, *, lease: timedelta | None = None) -> int:
    """Return to their queue the executing jobs of workers silent for longer than the lease.

    A rescued run counts as a spent attempt (its worker may have done part of the work); on its last attempt
    the job is discarded, with the discard hooks, instead.
    """
    lease = lease or timedelta(seconds=runtime.settings.job_lease_seconds)
    now = runtime.clock.now()
    rescued = 0
    async with runtime.db.begin() as conn:
        plans = []
        for job in await store.orphaned(conn, now=now, lease=lease):
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
            if await settle(conn, runtime.registry, job, plan, now=now):
                plans.append((job, plan))
    for job, plan in plans:
        metrics.jobs_rescued_total.labels(queue=job.queue).inc()
        if plan.target is JobState.DISCARDED:
            count(job, plan)
        rescued += 1
    if rescued:
        log.warning("rescued orphaned jobs", extra={"count": rescued})
    return rescued


async def prune_jobs(runtime: Runtime) -> int:
    """Delete completed and cancelled jobs past their retention, and discarded ones past theirs."""
    settings, now = runtime.settings, runtime.clock.now()
    deleted = 0
    async with runtime.db.begin() as conn:
        deleted += await store.prune(
            conn,
            states=[JobState.COMPLETED, JobState.CANCELLED],
            before=now - timedelta(hours=settings.jobs_completed_retention_hours),
        )
        deleted += await store.prune(
            conn,
            states=[JobState.DISCARDED],
            before=now - timedelta(days=settings.jobs_discarded_retention_days),
        )
        await store.forget_dead_workers(conn, before=now - timedelta(seconds=settings.job_lease_seconds * 10))
    if deleted:
        log.info("pruned finished jobs", extra={"count": deleted})
    return deleted
