"""What an operator does to a stuck hand-off: re-arm a job, hand-link a session. Both audited.

:func:`rearm` resets a job's attempts and puts it back to ``enqueued`` with its payload kept, so the next
reconciler run re-drives it — refused for a provisioned job, for one without a payload, and (unless forced)
while the trigger is not configured, since re-arming then only burns the retry budget again. :func:`link`
applies the same idempotent update as the orchestrator's callback
(:func:`~remit.provisioning.callback.apply_update`). ``dry_run`` answers what would happen and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from remit.audit import record
from remit.db.tables import provisioning_jobs
from remit.errors import RemitError
from remit.provisioning import jobs_table
from remit.provisioning.callback import CallbackUpdate, apply_update
from remit.provisioning.jobs_table import ProvisioningJob
from remit.provisioning.states import PROVISIONING_STATES, ProvisioningStatus
from remit.runtime import Runtime

T = provisioning_jobs


class Refused(RemitError):
    """The operator's action would be wrong here; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Outcome:
    job: ProvisioningJob
    changed: bool


async def rearm(runtime: Runtime, job_id: int, *, actor: str, force: bool = False, dry_run: bool = False) -> Outcome:
    settings = runtime.settings
    now = runtime.clock.now()
    async with runtime.db.begin() as conn:
        job = await jobs_table.get_job(conn, job_id)
        if job is None:
            raise Refused(f"no provisioning job {job_id}")
        if job.status is ProvisioningStatus.PROVISIONED:
            raise Refused(f"job {job_id} is provisioned; nothing to re-arm")
        if job.trigger_payload is None:
            raise Refused(
                f"job {job_id} has no payload to replay; hand-link it (remit provisioning link "
                f"{job.stripe_session_id} --deployment … --cell … --quota …)"
            )
        configured = bool(settings.provisioning_trigger_url and settings.provisioning_trigger_secret)
        if not configured and not force:
            raise Refused(
                "PROVISIONING_TRIGGER_URL and PROVISIONING_TRIGGER_SECRET are not both set: fix the transport "
                "first (or pass --force)"
            )
        if dry_run:
            return Outcome(job, False)
        values = {"attempts": 0, "last_attempt_at": None, "updated_at": now}
        if job.status is ProvisioningStatus.ENQUEUED:
            stmt = sa.update(T).where(T.c.id == job_id, T.c.status == "enqueued").values(**values)
        else:
            stmt = PROVISIONING_STATES.update(
                T, ProvisioningStatus.ENQUEUED, T.c.id == job_id, only_from=[job.status], column="status", **values
            )
        moved = (await conn.execute(stmt.returning(*T.c))).mappings().first()
        if moved is None:
            raise Refused(
                f"job {job_id} changed meanwhile; look again (remit provisioning show {job.stripe_session_id})"
            )
        after = ProvisioningJob.from_row(moved)
        await record(
            conn,
            at=now,
            actor=actor,
            action="provisioning.rearm",
            subject=f"provisioning_job:{job_id}",
            details={"previous_status": job.status.value, "previous_attempts": job.attempts, "force": force},
        )
    return Outcome(after, True)


async def link(
    runtime: Runtime,
    session_id: str,
    *,
    deployment_id: str,
    cell_id: str | None,
    tokens_quota: int,
    actor: str,
    dry_run: bool = False,
) -> Outcome:
    now = runtime.clock.now()
    update = CallbackUpdate(
        stripe_session_id=session_id,
        status=ProvisioningStatus.PROVISIONED,
        deployment_id=deployment_id,
        cell_id=cell_id,
        tokens_quota=tokens_quota,
    )
    async with runtime.db.begin() as conn:
        job = await jobs_table.get_by_session(conn, session_id)
        if job is None:
            raise Refused(f"no provisioning job for {session_id}: the webhook never recorded one; escalate")
        if dry_run:
            return Outcome(job, False)
        after, changed = await apply_update(conn, update, now, actor=actor)
        await record(
            conn,
            at=now,
            actor=actor,
            action="provisioning.link",
            subject=f"provisioning_job:{job.id}",
            details={
                "stripe_session_id": session_id,
                "deployment_id": deployment_id,
                "cell_id": cell_id,
                "tokens_quota": tokens_quota,
                "changed": changed,
            },
        )
    return Outcome(after, changed)


__all__ = ["Outcome", "Refused", "link", "rearm"]
