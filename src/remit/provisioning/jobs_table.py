"""The provisioning jobs table: the record, and every statement that writes or reads it.

Every write is guarded: the insert is ``ON CONFLICT (stripe_session_id) DO NOTHING`` (a replayed or
concurrent webhook records nothing new), each attempt is claimed by an UPDATE that re-checks the row is
still open and under the cap (two reconciler runs, or the trigger job and a run, cannot both claim it), and
each status change is one of :data:`~remit.provisioning.states.PROVISIONING_STATES`' guarded updates, so a
``provisioned`` row never moves again. Status changes are written to the ledger in the same transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit import ledger
from remit.db import dialect
from remit.db.tables import accounts, provisioning_jobs
from remit.provisioning.handoff import Handoff
from remit.provisioning.states import OPEN_STATUSES, PROVISIONING_STATES, AccountStatus, ProvisioningStatus

T = provisioning_jobs
OPEN_VALUES = [s.value for s in OPEN_STATUSES]
MAX_ERROR = 500


@dataclass(frozen=True, slots=True)
class ProvisioningJob:
    """One row: the runbook's triage columns. ``trigger_payload`` holds identifiers and the quota only."""

    id: int
    stripe_session_id: str
    account_id: str | None
    status: ProvisioningStatus
    origin: str
    trigger_payload: dict[str, Any] | None
    attempts: int
    last_error: str | None
    last_attempt_at: datetime | None
    deployment_id: str | None
    cell_id: str | None
    tokens_quota: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> ProvisioningJob:
        return cls(
            id=int(row["id"]),
            stripe_session_id=row["stripe_session_id"],
            account_id=row["account_id"],
            status=ProvisioningStatus(row["status"]),
            origin=row["origin"],
            trigger_payload=dict(row["trigger_payload"]) if row["trigger_payload"] is not None else None,
            attempts=int(row["attempts"]),
            last_error=row["last_error"],
            last_attempt_at=row["last_attempt_at"],
            deployment_id=row["deployment_id"],
            cell_id=row["cell_id"],
            tokens_quota=None if row["tokens_quota"] is None else int(row["tokens_quota"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    @property
    def payload_missing(self) -> bool:
        return self.trigger_payload is None

    def to_json(self) -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "id": self.id,
            "account_id": self.account_id,
            "stripe_session_id": self.stripe_session_id,
            "status": self.status.value,
            "origin": self.origin,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "deployment_id": self.deployment_id,
            "cell_id": self.cell_id,
            "tokens_quota": self.tokens_quota,
            "payload_missing": self.payload_missing,
            "last_attempt_at": when(self.last_attempt_at),
            "updated_at": when(self.updated_at),
            "created_at": when(self.created_at),
        }


def _clip(error: str | None) -> str | None:
    return None if error is None else error[:MAX_ERROR]


def _ledger_entry(job: ProvisioningJob, actor: str, key: str, **data: Any) -> dict[str, Any]:
    return {
        "type": "provisioning.status_changed",
        "subject": f"checkout_session:{job.stripe_session_id}",
        "actor": actor,
        "data": {"job_id": job.id, "status": job.status.value, "attempts": job.attempts, **data},
        "idempotency_key": f"provisioning:{job.id}:{key}",
    }


async def _ledger(conn: AsyncConnection, job: ProvisioningJob, actor: str, key: str, **data: Any) -> None:
    await ledger.record(conn, **_ledger_entry(job, actor, key, **data))


# --- recording a hand-off ----------------------------------------------------------------------------------


async def ensure_account(
    conn: AsyncConnection,
    account_id: str,
    *,
    customer_id: str | None,
    package_slug: str | None,
    tokens_quota: int | None,
    now: datetime,
) -> None:
    """The account a checkout pays for, ``pending``, unless it exists (then it is left as it is)."""
    stmt = (
        dialect.insert(conn, accounts)
        .values(
            id=account_id,
            status=AccountStatus.PENDING.value,
            customer_id=customer_id,
            package_slug=package_slug,
            tokens_quota=tokens_quota,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )
    await conn.execute(stmt)


async def record_handoff(conn: AsyncConnection, handoff: Handoff, now: datetime) -> ProvisioningJob | None:
    """The one job of ``handoff``'s session, inserted once: the new job, or None when it already exists."""
    if handoff.account_id is not None:
        await ensure_account(
            conn,
            handoff.account_id,
            customer_id=handoff.customer_id,
            package_slug=handoff.package.slug if handoff.package else None,
            tokens_quota=handoff.package.tokens_quota if handoff.package else None,
            now=now,
        )
    stmt = (
        dialect.insert(conn, T)
        .values(
            stripe_session_id=handoff.session_id,
            account_id=handoff.account_id,
            status=ProvisioningStatus.ENQUEUED.value,
            origin=handoff.origin,
            # SQL NULL, not JSON null: the scans test IS NULL (and the partial index reads it that way).
            trigger_payload=handoff.payload if handoff.payload is not None else sa.null(),
            attempts=0,
            last_error=_clip(handoff.error),
            tokens_quota=handoff.package.tokens_quota if handoff.package else None,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["stripe_session_id"])
        .returning(*T.c)
    )
    row = (await conn.execute(stmt)).mappings().first()
    if row is None:
        return None
    job = ProvisioningJob.from_row(row)
    await _ledger(conn, job, "processor", "recorded", origin=job.origin, payload_missing=job.payload_missing)
    return job


# --- reading -----------------------------------------------------------------------------------------------


async def get_job(conn: AsyncConnection, job_id: int) -> ProvisioningJob | None:
    row = (await conn.execute(sa.select(T).where(T.c.id == job_id))).mappings().first()
    return ProvisioningJob.from_row(row) if row else None


async def get_by_session(conn: AsyncConnection, session_id: str) -> ProvisioningJob | None:
    row = (await conn.execute(sa.select(T).where(T.c.stripe_session_id == session_id))).mappings().first()
    return ProvisioningJob.from_row(row) if row else None


def stuck_condition(now: datetime, *, stuck_seconds: float, max_attempts: int) -> sa.ColumnElement[bool]:
    """The one definition of stuck: open, and no progress for ``stuck_seconds`` or at the attempt cap. The
    status test is written exactly as the partial index's predicate, so the planner uses that index."""
    return sa.and_(
        sa.text("status IN ('enqueued', 'provisioning', 'failed')"),
        sa.or_(T.c.updated_at < now - timedelta(seconds=stuck_seconds), T.c.attempts >= max_attempts),
    )


def count_stuck_statement(now: datetime, *, stuck_seconds: float, max_attempts: int) -> sa.Select[tuple[int]]:
    """The gauge's query (``bench/provisioning.py`` EXPLAINs this very statement)."""
    return (
        sa.select(sa.func.count())
        .select_from(T)
        .where(stuck_condition(now, stuck_seconds=stuck_seconds, max_attempts=max_attempts))
    )


async def count_stuck(conn: AsyncConnection, now: datetime, *, stuck_seconds: float, max_attempts: int) -> int:
    """What ``remit_provisioning_stuck`` reports and ``remit provisioning list --stuck`` lists."""
    stmt = count_stuck_statement(now, stuck_seconds=stuck_seconds, max_attempts=max_attempts)
    return int((await conn.execute(stmt)).scalar_one())


async def list_jobs(
    conn: AsyncConnection,
    *,
    statuses: Sequence[ProvisioningStatus] | None = None,
    stuck: tuple[datetime, float, int] | None = None,
    limit: int = 100,
) -> list[ProvisioningJob]:
    """Jobs, oldest last attempt or status change first (``updated_at``, the runbook's order); ``stuck`` is
    ``(now, stuck_seconds, cap)``."""
    stmt = sa.select(T).order_by(T.c.updated_at, T.c.id).limit(limit)
    if statuses:
        stmt = stmt.where(T.c.status.in_([s.value for s in statuses]))
    if stuck is not None:
        now, seconds, cap = stuck
        stmt = stmt.where(stuck_condition(now, stuck_seconds=seconds, max_attempts=cap))
    return [ProvisioningJob.from_row(row) for row in (await conn.execute(stmt)).mappings()]


# --- attempts ----------------------------------------------------------------------------------------------


def _claimable(max_attempts: int) -> list[sa.ColumnElement[bool]]:
    return [T.c.status.in_(OPEN_VALUES), T.c.attempts < max_attempts, T.c.trigger_payload.is_not(None)]


async def claim_attempt(
    conn: AsyncConnection, job_id: int, now: datetime, *, max_attempts: int
) -> ProvisioningJob | None:
    """Count one trigger attempt of ``job_id`` before it is made: None when the job is provisioned, has no
    payload or is at the cap (then nothing is sent)."""
    stmt = (
        sa.update(T)
        .where(T.c.id == job_id, *_claimable(max_attempts))
        .values(attempts=T.c.attempts + 1, last_attempt_at=now, updated_at=now)
        .returning(*T.c)
    )
    row = (await conn.execute(stmt)).mappings().first()
    return ProvisioningJob.from_row(row) if row else None


def claim_stale_statement(
    dialect_name: str, now: datetime, *, stale_seconds: float, max_attempts: int, batch: int
) -> sa.Update:
    """The reconciler's claiming UPDATE (see :func:`claim_stale`; ``bench/provisioning.py`` EXPLAINs it)."""
    cutoff = now - timedelta(seconds=stale_seconds)
    stale = sa.func.coalesce(T.c.last_attempt_at, T.c.created_at) < cutoff
    inner = (
        sa.select(T.c.id)
        # The status test once, written as the claimable index's predicate (migration 0019), so the planner reads
        # that index in ``created_at, id`` order and stops at ``batch`` (the outer WHERE re-checks every row).
        .where(
            sa.text("status IN ('enqueued', 'provisioning', 'failed')"),
            T.c.attempts < max_attempts,
            T.c.trigger_payload.is_not(None),
            stale,
        )
        .order_by(T.c.created_at, T.c.id)
        .limit(batch)
    )
    if dialect_name == "postgresql":
        inner = inner.with_for_update(skip_locked=True)
    return (
        sa.update(T)
        .where(T.c.id.in_(inner.scalar_subquery()), *_claimable(max_attempts), stale)
        .values(attempts=T.c.attempts + 1, last_attempt_at=now, updated_at=now)
        .returning(*T.c)
    )


async def claim_stale(
    conn: AsyncConnection, now: datetime, *, stale_seconds: float, max_attempts: int, batch: int
) -> list[ProvisioningJob]:
    """Claim up to ``batch`` open jobs whose last attempt (or, never tried, creation) is older than
    ``stale_seconds``, oldest first, counting one attempt on each — in one statement, so two concurrent runs
    never claim one job: on PostgreSQL the inner SELECT locks with SKIP LOCKED and the outer WHERE re-checks
    the row after any wait; SQLite runs one writer at a time."""
    stmt = claim_stale_statement(
        conn.dialect.name, now, stale_seconds=stale_seconds, max_attempts=max_attempts, batch=batch
    )
    rows = (await conn.execute(stmt)).mappings().all()
    return sorted((ProvisioningJob.from_row(r) for r in rows), key=lambda j: (j.created_at, j.id))


async def count_stale_without_payload(conn: AsyncConnection, now: datetime, *, stale_seconds: float) -> int:
    """Open, stale jobs the reconciler cannot replay (no payload): skipped, counted for the summary."""
    cutoff = now - timedelta(seconds=stale_seconds)
    stmt = (
        sa.select(sa.func.count())
        .select_from(T)
        .where(
            sa.text("status IN ('enqueued', 'provisioning', 'failed')"),
            T.c.trigger_payload.is_(None),
            sa.func.coalesce(T.c.last_attempt_at, T.c.created_at) < cutoff,
        )
    )
    return int((await conn.execute(stmt)).scalar_one())


def outcomes_statement(errors: Mapping[int, str | None], *, claimed_failed: Collection[int] = ()) -> sa.Update:
    """The one UPDATE that records attempts' outcomes (job id → error, None when accepted) in ``last_error``: only
    on open rows, and only where the value changes. It leaves ``updated_at`` as the attempt's claim set it, so it
    changes no indexed column and PostgreSQL can write it heap-only, beside the claimed row version, without a
    new entry in any of the table's indexes (migration 0020 keeps room on the page for it); a job whose outcome
    repeats its last one is not written at all. A job that is ``failed`` now but was not when claimed
    (``claimed_failed`` lists those that were) got the orchestrator's ``failed`` callback while the POSTs were
    out: its ``last_error`` is the orchestrator's error, which the transport's outcome does not overwrite."""
    failing = {job_id: _clip(error) for job_id, error in errors.items() if error is not None}
    value: sa.ColumnElement[Any] = sa.case(failing, value=T.c.id, else_=sa.null()) if failing else sa.null()
    not_failed_meanwhile = T.c.status != ProvisioningStatus.FAILED.value
    if claimed_failed:
        not_failed_meanwhile = sa.or_(not_failed_meanwhile, T.c.id.in_(list(claimed_failed)))
    return (
        sa.update(T)
        .where(
            T.c.id.in_(list(errors)),
            T.c.status.in_(OPEN_VALUES),
            not_failed_meanwhile,
            T.c.last_error.is_distinct_from(value),
        )
        .values(last_error=value)
    )


async def record_outcomes(
    conn: AsyncConnection, outcomes: Sequence[tuple[ProvisioningJob, str | None]], now: datetime
) -> list[ProvisioningJob]:
    """Record attempts' outcomes (``error`` None: the orchestrator accepted it) in at most three statements —
    whatever the number of jobs: the accepted re-drives of jobs still ``failed`` go back to ``enqueued`` (one
    UPDATE guarded on ``failed``, ledgered in one batched insert), and every other outcome lands in
    ``last_error`` in one UPDATE (:func:`outcomes_statement`). Nothing here touches a ``provisioned`` row. An
    outcome is not progress: the attempt was, and its claim moved ``updated_at`` already; only a status change
    moves it again. Returns the jobs that moved back to ``enqueued``."""
    revive = [job.id for job, error in outcomes if error is None and job.status is ProvisioningStatus.FAILED]
    moved: list[ProvisioningJob] = []
    if revive:
        # From failed only: a job the orchestrator took meanwhile (its "provisioning" callback landed while the
        # batch's POSTs were out) is not pulled back to enqueued.
        stmt = PROVISIONING_STATES.update(
            T,
            ProvisioningStatus.ENQUEUED,
            T.c.id.in_(revive),
            only_from=[ProvisioningStatus.FAILED],
            column="status",
            last_error=None,
            updated_at=now,
        ).returning(*T.c)
        moved = [ProvisioningJob.from_row(row) for row in (await conn.execute(stmt)).mappings().all()]
        await ledger.record_many(
            conn,
            [_ledger_entry(job, "system", f"enqueued:a{job.attempts}", reason="redrive_accepted") for job in moved],
        )
    done = {job.id for job in moved}
    errors = {job.id: error for job, error in outcomes if job.id not in done}
    if errors:
        was_failed = [job.id for job, _ in outcomes if job.id in errors and job.status is ProvisioningStatus.FAILED]
        await conn.execute(outcomes_statement(errors, claimed_failed=was_failed))
    return moved


async def record_outcome(
    conn: AsyncConnection, job: ProvisioningJob, error: str | None, now: datetime
) -> ProvisioningJob | None:
    """Record one attempt's outcome (see :func:`record_outcomes`): the job after it, None if it is no longer
    open."""
    await record_outcomes(conn, [(job, error)], now)
    current = await get_job(conn, job.id)
    return current if current is not None and current.status in OPEN_STATUSES else None


__all__ = [
    "OPEN_VALUES",
    "ProvisioningJob",
    "claim_attempt",
    "claim_stale",
    "claim_stale_statement",
    "count_stale_without_payload",
    "count_stuck",
    "count_stuck_statement",
    "ensure_account",
    "get_by_session",
    "get_job",
    "list_jobs",
    "outcomes_statement",
    "record_handoff",
    "record_outcome",
    "record_outcomes",
    "stuck_condition",
]
