"""The orchestrator's write-back, and the operator's hand-link: one idempotent way to move a job by its session.

:func:`parse_callback` reads the JSON body (pure): ``stripe_session_id``, ``status`` (``provisioning``,
``provisioned``, ``failed``), ``deployment_id``, ``cell_id``, ``tokens_quota``, ``error``. :func:`apply_update`
applies it in the caller's transaction:

- ``provisioned`` links the deployment and the cell, sets a positive quota (0 or absent keeps the one set at
  checkout) and activates the account — all in that one transaction;
- ``failed`` records the orchestrator's error (:func:`announce`, after the commit, emits ``provisioning_failed``);
  ``provisioning`` notes the saga started.

Each change is a guarded UPDATE of :data:`~remit.provisioning.states.PROVISIONING_STATES`: a replay changes
nothing, and nothing moves a ``provisioned`` job — a late ``failed`` leaves it provisioned with its link. A
session without a job is :class:`NoJob` (the endpoint answers 404; remit never invents a job). Each change is
written to the ledger.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit import ledger
from remit.db.tables import accounts, provisioning_jobs
from remit.errors import RemitError
from remit.provisioning import jobs_table
from remit.provisioning.jobs_table import ProvisioningJob
from remit.provisioning.states import ACCOUNT_STATES, PROVISIONING_STATES, AccountStatus, ProvisioningStatus
from remit.telemetry import ops

T = provisioning_jobs
CALLBACK_STATUSES = ("provisioning", "provisioned", "failed")
MAX_ID = 255


class MalformedCallback(RemitError):
    """The body is not the callback's JSON (the endpoint answers 400); the message names the field only."""


class NoJob(RemitError):
    """No provisioning job has this session id."""


@dataclass(frozen=True, slots=True)
class CallbackUpdate:
    stripe_session_id: str
    status: ProvisioningStatus
    deployment_id: str | None = None
    cell_id: str | None = None
    tokens_quota: int = 0
    error: str | None = None


def _optional_text(body: dict[str, Any], key: str, limit: int = MAX_ID) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise MalformedCallback(f"{key} must be text of at most {limit} characters")
    return value


def parse_callback(raw: bytes) -> CallbackUpdate:
    """The update a callback body asks for, or :class:`MalformedCallback` (pure)."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise MalformedCallback("the body is not JSON") from None
    if not isinstance(body, dict):
        raise MalformedCallback("the body is not a JSON object")
    session = _optional_text(body, "stripe_session_id")
    if session is None:
        raise MalformedCallback("stripe_session_id is required")
    status = body.get("status")
    if status not in CALLBACK_STATUSES:
        raise MalformedCallback(f"status must be one of {', '.join(CALLBACK_STATUSES)}")
    quota = body.get("tokens_quota", 0)
    if quota is None:
        quota = 0
    if not isinstance(quota, int) or isinstance(quota, bool) or quota < 0:
        raise MalformedCallback("tokens_quota must be a whole number, 0 or more")
    update = CallbackUpdate(
        stripe_session_id=session,
        status=ProvisioningStatus(status),
        deployment_id=_optional_text(body, "deployment_id"),
        cell_id=_optional_text(body, "cell_id"),
        tokens_quota=quota,
        error=_optional_text(body, "error", 500),
    )
    if update.status is ProvisioningStatus.PROVISIONED and not update.deployment_id:
        raise MalformedCallback("a provisioned callback needs deployment_id")
    return update


async def _record(conn: AsyncConnection, job: ProvisioningJob, actor: str, **data: Any) -> None:
    await ledger.record(
        conn,
        type="provisioning.status_changed",
        subject=f"checkout_session:{job.stripe_session_id}",
        actor=actor,
        data={"job_id": job.id, "status": job.status.value, "attempts": job.attempts, **data},
        idempotency_key=f"provisioning:{job.id}:{job.status.value}:{job.updated_at.isoformat()}",
    )


async def _activate(conn: AsyncConnection, job: ProvisioningJob, update: CallbackUpdate, now: datetime) -> None:
    if job.account_id is None:
        return
    values: dict[str, Any] = {"deployment_id": update.deployment_id, "cell_id": update.cell_id, "updated_at": now}
    if update.tokens_quota > 0:
        values["tokens_quota"] = update.tokens_quota
    moved = await ACCOUNT_STATES.move(
        conn,
        accounts,
        AccountStatus.ACTIVE,
        accounts.c.id == job.account_id,
        only_from=[AccountStatus.PENDING],
        column="status",
        **values,
    )
    if not moved:  # already active (or suspended): link it, leave its status alone
        await conn.execute(sa.update(accounts).where(accounts.c.id == job.account_id).values(**values))


async def apply_update(
    conn: AsyncConnection, update: CallbackUpdate, now: datetime, *, actor: str = "orchestrator"
) -> tuple[ProvisioningJob, bool]:
    """Apply ``update`` (see the module docs): the job after it, and whether anything changed."""
    job = await jobs_table.get_by_session(conn, update.stripe_session_id)
    if job is None:
        raise NoJob("no provisioning job for stripe_session_id")
    target = update.status
    values: dict[str, Any] = {"updated_at": now}
    if target is ProvisioningStatus.PROVISIONED:
        values.update(deployment_id=update.deployment_id, cell_id=update.cell_id, last_error=None)
        if update.tokens_quota > 0:
            values["tokens_quota"] = update.tokens_quota
    elif target is ProvisioningStatus.FAILED:
        values["last_error"] = (update.error or "orchestrator_failed")[:500]
    if job.status is target or not PROVISIONING_STATES.can(job.status, target):
        if job.status is ProvisioningStatus.FAILED and target is ProvisioningStatus.FAILED and update.error:
            await conn.execute(
                sa.update(T).where(T.c.id == job.id, T.c.status == "failed").values(last_error=update.error[:500])
            )
        return job, False
    stmt = PROVISIONING_STATES.update(T, target, T.c.id == job.id, column="status", **values).returning(*T.c)
    row = (await conn.execute(stmt)).mappings().first()
    if row is None:  # moved meanwhile by someone else: report where it is now
        current = await jobs_table.get_job(conn, job.id)
        return current or job, False
    moved = ProvisioningJob.from_row(row)
    if target is ProvisioningStatus.PROVISIONED:
        await _activate(conn, moved, update, now)
    await _record(conn, moved, actor, previous=job.status.value)
    return moved, True


def announce(job: ProvisioningJob, changed: bool) -> None:
    """Emit ``provisioning_failed`` for an update that moved ``job`` to ``failed``. Called by the caller once
    :func:`apply_update`'s transaction has committed: an ops event never announces a write rolled back."""
    if changed and job.status is ProvisioningStatus.FAILED:
        ops.emit(
            "provisioning_failed",
            job_id=job.id,
            session_id=job.stripe_session_id,
            account_id=job.account_id,
            attempt=job.attempts,
            reason="orchestrator_failed",
        )


__all__ = [
    "CALLBACK_STATUSES",
    "CallbackUpdate",
    "MalformedCallback",
    "NoJob",
    "announce",
    "apply_update",
    "parse_callback",
]
