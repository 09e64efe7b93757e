"""Applying a run's :class:`~remit.jobs.outcomes.Plan`: the guarded UPDATE, then discard hooks and metrics.

Shared by the engine's settling of a run that ended and its rescue of a run whose worker died, so a job
discarded either way fires the same hooks — the webhook dead-letter queue is built on them — in the same
transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from remit.jobs.definition import JobRegistry
from remit.jobs.outcomes import Plan
from remit.jobs.records import Job
from remit.jobs.states import JobState
from remit.jobs.store import runs
from remit.telemetry import metrics, ops

log = logging.getLogger("remit.jobs")


async def settle(conn: AsyncConnection, registry: JobRegistry, job: Job, plan: Plan, *, now: datetime) -> bool:
    """Apply ``plan`` to the run ``job`` on ``conn``; False (and nothing written) when the run is stale."""
    applied = await runs.finish(conn, job, plan.target, now=now, **plan.values)
    if not applied:
        log.info("stale job update rejected", extra={"job_id": job.id, "attempt": job.attempt})
        return False
    if plan.target is JobState.DISCARDED:
        definition = registry.get(job.name) if job.name in registry else None
        error = (plan.values.get("errors") or [{}])[-1]
        for hook in registry.discard_hooks(definition):
            await hook(conn, job, error)
    return True


def count(job: Job, plan: Plan) -> None:
    """Record the outcome of one run in the job metrics (after its transaction committed)."""
    metrics.jobs_executed_total.labels(queue=job.queue, outcome=plan.label).inc()
    if plan.target in (JobState.RETRYABLE, JobState.DISCARDED):
        metrics.jobs_failed_total.labels(queue=job.queue).inc()
    if plan.target is JobState.DISCARDED:
        metrics.jobs_discarded_total.labels(queue=job.queue).inc()
        ops.emit("jobs.discarded", job_id=job.id, job_name=job.name, queue=job.queue, attempt=job.attempt)
    elif plan.target is JobState.SCHEDULED:
        metrics.jobs_snoozed_total.labels(queue=job.queue).inc()
