"""Putting jobs in the queue, inside the caller's transaction.

A job row is written on the caller's own connection, so it exists if and only if the caller's transaction
commits: a billing write and the job it implies can never drift apart. Unique jobs rely on the partial unique
index over pending rows (``INSERT … ON CONFLICT DO NOTHING``), never on check-then-insert. On PostgreSQL a
statement trigger wakes listening workers when the transaction commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.clock import Clock, system_clock
from remit.db import dialect
from remit.db.tables import jobs
from remit.db.tables.jobs import PENDING_STATES_SQL
from remit.errors import JobError
from remit.jobs import bulk, queues
from remit.jobs.definition import JobDefinition, default_registry
from remit.jobs.states import JobState


@dataclass(frozen=True)
class JobRequest:
    """One job to insert. ``job`` is a definition or a registered name."""

    job: JobDefinition | str
    args: Mapping[str, Any] = field(default_factory=dict)
    queue: str | None = None
    scheduled_at: datetime | None = None
    delay: float | None = None
    priority: int | None = None
    max_attempts: int | None = None
    unique_key: str | None = None
    meta: Mapping[str, Any] | None = None


def _definition(job: JobDefinition | str) -> JobDefinition:
    return job if isinstance(job, JobDefinition) else default_registry.get(job)


def build_row(request: JobRequest, now: datetime) -> dict[str, Any]:
    """The row for ``request`` as of ``now`` (pure)."""
    definition = _definition(request.job)
    args = dict(request.args)
    if request.scheduled_at is not None and request.delay is not None:
        raise JobError("give scheduled_at or delay, not both")
    run_at = request.scheduled_at or (now + timedelta(seconds=request.delay) if request.delay else now)
    state = JobState.SCHEDULED if run_at > now else JobState.AVAILABLE
    return {
        "queue": queues.resolve(request.queue or definition.queue),
        "name": definition.name,
        "args": args,
        "state": state.value,
        "priority": definition.priority if request.priority is None else request.priority,
        "attempt": 0,
        "max_attempts": request.max_attempts or definition.max_attempts,
        "unique_key": request.unique_key or definition.unique_key(args),
        "scheduled_at": run_at,
        "inserted_at": now,
        "attempted_at": None,
        "finished_at": None,
        "attempted_by": None,
        "timeout": definition.timeout,
        "errors": [],
        "meta": dict(request.meta or {}),
    }


def _insert(conn: Connection | AsyncConnection, *, unique: bool) -> Any:
    stmt = dialect.insert(conn, jobs)
    if unique:
        stmt = stmt.on_conflict_do_nothing(
            index_elements=[jobs.c.unique_key],
            index_where=sa.text(f"unique_key IS NOT NULL AND {PENDING_STATES_SQL}"),
        )
    return stmt.returning(jobs.c.id)


async def enqueue(
    conn: AsyncConnection,
    job: JobDefinition | str,
    args: Mapping[str, Any] | None = None,
    *,
    clock: Clock = system_clock,
    **options: Any,
) -> int | None:
    """Insert one job on ``conn`` (in its transaction). Returns the new id, or None when a pending job with
    the same unique key already exists. ``options`` are the other :class:`JobRequest` fields."""
    row = build_row(JobRequest(job, args or {}, **options), clock.now())
    # The batch statement is plain text, so SQLAlchemy caches its compiled form; an ON CONFLICT insert built
    # with the dialect's Insert would be compiled again on every call.
    ids = await bulk.insert_rows(conn, [row])
    return ids[0] if ids else None


def enqueue_sync(
    conn: Connection,
    job: JobDefinition | str,
    args: Mapping[str, Any] | None = None,
    *,
    clock: Clock = system_clock,
    **options: Any,
) -> int | None:
    """:func:`enqueue` for a host's blocking SQLAlchemy connection."""
    row = build_row(JobRequest(job, args or {}, **options), clock.now())
    stmt = _insert(conn, unique=row["unique_key"] is not None)
    return conn.execute(stmt, row).scalar_one_or_none()


async def enqueue_many(
    conn: AsyncConnection, requests: Sequence[JobRequest], *, clock: Clock = system_clock
) -> list[int]:
    """Insert many jobs in one statement (any number of rows, one round trip); returns the ids of the inserted
    ones (unique twins of pending jobs are skipped)."""
    if not requests:
        return []
    now = clock.now()
    return await bulk.insert_rows(conn, [build_row(request, now) for request in requests])
