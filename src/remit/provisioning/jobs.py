"""The trigger job on ``remit_provisioning``: one attempt at handing a provisioning job to the orchestrator.

Enqueued with the job's row, in the webhook's transaction, unique by the row's id. Each run claims one attempt
(:func:`~remit.provisioning.jobs_table.claim_attempt`: counted before the POST, so a crash mid-call still
counts), sends the stored payload and records the outcome. A network error or a 5xx raises, so the engine
retries with backoff; a 4xx or an unset trigger does not (the reconciler retries those every run). Nothing is
sent for a provisioned job, one without a payload, or one at ``REMIT_PROVISIONING_MAX_ATTEMPTS``.
"""

from __future__ import annotations

from remit.errors import RemitError
from remit.jobs.context import JobContext
from remit.jobs.definition import UniqueBy, job
from remit.jobs.retry import Backoff
from remit.provisioning import jobs_table
from remit.provisioning.jobs_table import ProvisioningJob
from remit.provisioning.trigger import TRANSIENT, send_trigger
from remit.runtime import Runtime
from remit.telemetry import ops

TRIGGER_JOB = "remit.provisioning.trigger"
#: 15 s, 30 s, 1 min … ±20 %: five runs within about eight minutes; the reconciler carries on after that.
TRIGGER_BACKOFF = Backoff(base=15.0, factor=2.0, cap=600.0, jitter=0.2)
TRIGGER_RUNS = 5


class TriggerFailed(RemitError):
    """The orchestrator could not be reached or failed (``fetch_error``/``http_5xx``): retry later."""


async def attempt(runtime: Runtime, job_id: int) -> tuple[ProvisioningJob | None, str | None]:
    """One trigger attempt of provisioning job ``job_id``: the row after it (None: nothing was sent) and the
    outcome (None: accepted)."""
    settings = runtime.settings
    async with runtime.db.begin() as conn:
        claimed = await jobs_table.claim_attempt(
            conn, job_id, runtime.clock.now(), max_attempts=settings.provisioning_max_attempts
        )
    if claimed is None or claimed.trigger_payload is None:
        return None, None
    error = await send_trigger(runtime, claimed.trigger_payload)
    async with runtime.db.begin() as conn:
        after = await jobs_table.record_outcome(conn, claimed, error, runtime.clock.now())
    if error is not None and claimed.attempts >= settings.provisioning_max_attempts:
        ops.emit(
            "provisioning_failed",
            job_id=claimed.id,
            session_id=claimed.stripe_session_id,
            account_id=claimed.account_id,
            attempt=claimed.attempts,
            reason="attempts_exhausted",
            code=error,
        )
    return after, error


@job(
    queue="remit_provisioning",
    name=TRIGGER_JOB,
    max_attempts=TRIGGER_RUNS,
    backoff=TRIGGER_BACKOFF,
    timeout=60.0,
    unique=UniqueBy("job_id"),
)
async def trigger_provisioning(ctx: JobContext[Runtime], job_id: int) -> None:
    """Hand provisioning job ``job_id`` to the orchestrator (one attempt; see the module docs)."""
    _after, error = await attempt(ctx.app, job_id)
    if error in TRANSIENT:
        raise TriggerFailed(f"provisioning trigger failed: {error}")


__all__ = ["TRIGGER_BACKOFF", "TRIGGER_JOB", "TRIGGER_RUNS", "TriggerFailed", "attempt", "trigger_provisioning"]
