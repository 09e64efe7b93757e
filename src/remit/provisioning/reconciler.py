"""The reconciler: re-drive open provisioning jobs the trigger did not land, every ten minutes.

One run claims up to ``REMIT_PROVISIONING_BATCH`` open jobs under the attempt cap whose last attempt (or,
never tried, creation) is older than ``REMIT_PROVISIONING_STALE_SECONDS``, oldest first, counting an attempt
on each in the claiming statement (:func:`~remit.provisioning.jobs_table.claim_stale`: two concurrent runs
never take one job), replays each stored payload exactly — ``REMIT_PROVISIONING_TRIGGER_CONCURRENCY`` POSTs in
flight at a time (:func:`~remit.provisioning.trigger.send_triggers`) — and records the outcomes in one
transaction of at most three statements, whatever the batch
(:func:`~remit.provisioning.jobs_table.record_outcomes`). Jobs without a payload are never replayed — remit will
not guess a package — and are counted as ``skipped_no_payload``. The run returns and logs one summary:
``event`` ``provisioning.reconcile.run``, ``scanned``, ``redriven``, ``still_failing``, ``skipped_no_payload``,
``stuck_total``. The same run serves the periodic task, ``POST /api/cron/reconcile-provisioning`` and ``remit
provisioning reconcile``.
"""

from __future__ import annotations

import logging
from typing import Any

from remit.jobs.context import PeriodicContext
from remit.periodic import Counts, Cron, PeriodicTask
from remit.provisioning import jobs_table
from remit.provisioning.jobs_table import ProvisioningJob
from remit.provisioning.trigger import send_triggers
from remit.runtime import Runtime
from remit.telemetry import ops

log = logging.getLogger("remit.provisioning")

RECONCILE_TASK_NAME = "provisioning.reconcile"
SUMMARY_EVENT = "provisioning.reconcile.run"


def _payload(job: ProvisioningJob) -> dict[str, Any]:
    assert job.trigger_payload is not None  # claim_stale takes only jobs with a payload
    return job.trigger_payload


def _exhausted(runtime: Runtime, job: ProvisioningJob, error: str) -> None:
    if job.attempts >= runtime.settings.provisioning_max_attempts:
        ops.emit(
            "provisioning_failed",
            job_id=job.id,
            session_id=job.stripe_session_id,
            account_id=job.account_id,
            attempt=job.attempts,
            reason="attempts_exhausted",
            code=error,
        )


async def reconcile(runtime: Runtime) -> dict[str, Any]:
    """One run (see the module docs); its summary."""
    settings = runtime.settings
    now = runtime.clock.now()
    async with runtime.db.begin() as conn:
        claimed = await jobs_table.claim_stale(
            conn,
            now,
            stale_seconds=settings.provisioning_stale_seconds,
            max_attempts=settings.provisioning_max_attempts,
            batch=settings.provisioning_batch,
        )
        skipped = await jobs_table.count_stale_without_payload(
            conn, now, stale_seconds=settings.provisioning_stale_seconds
        )
    # The POSTs go out a few at a time, outside any transaction (the claim has committed the attempts and holds
    # no lock while the orchestrator answers); their outcomes are written in one transaction after them.
    outcomes = await send_triggers(runtime, [_payload(job) for job in claimed])
    # The outcomes and the stuck count after them: one transaction, at most four statements.
    async with runtime.db.begin() as conn:
        if claimed:
            await jobs_table.record_outcomes(conn, list(zip(claimed, outcomes, strict=True)), runtime.clock.now())
        stuck = await jobs_table.count_stuck(
            conn,
            runtime.clock.now(),
            stuck_seconds=settings.provisioning_stuck_seconds,
            max_attempts=settings.provisioning_max_attempts,
        )
    # Emitted after the commit: an ops event never announces a write that was rolled back.
    for job, error in zip(claimed, outcomes, strict=True):
        if error is not None:
            _exhausted(runtime, job, error)
    failing = sum(1 for error in outcomes if error is not None)
    summary: dict[str, Any] = {
        "event": SUMMARY_EVENT,
        "scanned": len(claimed) + skipped,
        "redriven": len(claimed) - failing,
        "still_failing": failing,
        "skipped_no_payload": skipped,
        "stuck_total": stuck,
    }
    log.info(SUMMARY_EVENT, extra={"summary": summary})
    return summary


async def run_reconcile(ctx: PeriodicContext[Runtime]) -> Counts:
    summary = await reconcile(ctx.app)
    return {key: int(value) for key, value in summary.items() if isinstance(value, int)}


#: Every ten minutes, leader only, as a job on ``remit_provisioning`` (it makes HTTP calls).
RECONCILE_TASK: PeriodicTask[PeriodicContext[Runtime]] = PeriodicTask(
    RECONCILE_TASK_NAME, Cron("*/10 * * * *"), run_reconcile, queue="remit_provisioning"
)

__all__ = ["RECONCILE_TASK", "RECONCILE_TASK_NAME", "SUMMARY_EVENT", "reconcile", "run_reconcile"]
