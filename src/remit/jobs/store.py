"""Every SQL statement of the job engine, guarded by the state (and attempt) it expects.

The worker never writes a job row any other way. A change to an ``executing`` job names the attempt it
belongs to, so a worker that lost its lease (and whose job was rescued and claimed again, with a higher
attempt) cannot complete, fail or snooze a run that is no longer its own: its late update matches no row.

Claiming takes a batch in one statement: on PostgreSQL ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
LOCKED) RETURNING``, so many workers share a queue without waiting on each other; on SQLite the same
``UPDATE … RETURNING`` inside the ``BEGIN IMMEDIATE`` transaction every connection uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db import dialect
from remit.db.tables import jobs, queue_states, workers
from remit.db.tables.jobs import RUNNABLE_STATES_SQL
from remit.jobs import bulk
from remit.jobs.records import CLAIM_COLUMN_NAMES, Job
from remit.jobs.states import JobState, check_transition, sources_of

# The partial indexes' own predicates, as literal SQL: a planner can only use a partial index when the query
# implies its predicate, which bound parameters (and PostgreSQL's generic plans for prepared statements) hide.
_RUNNABLE = sa.text(RUNNABLE_STATES_SQL)
_EXECUTING = sa.text("state = 'executing'")


def _executing_guard(job_id: int, attempt: int) -> Any:
    return sa.and_(jobs.c.id == job_id, jobs.c.attempt == attempt, jobs.c.state == JobState.EXECUTING.value)


async def claim(conn: AsyncConnection, *, queue: str, limit: int, worker_id: str, now: datetime) -> list[Job]:
    """Move up to ``limit`` due jobs of ``queue`` to ``executing`` for ``worker_id`` and return them.

    A paused queue yields nothing: the pause is checked inside the same statement, so every worker obeys it
    at once. Jobs come back in priority, then schedule, then insertion order.
    """
    paused = sa.select(queue_states.c.name).where(queue_states.c.name == queue, queue_states.c.paused)
    candidates = (
        sa.select(jobs.c.id)
        .where(
            jobs.c.queue == queue,
            _RUNNABLE,
            jobs.c.scheduled_at <= now,
            ~sa.exists(paused),
        )
        .order_by(jobs.c.priority, jobs.c.scheduled_at, jobs.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        # id = ANY(ARRAY(subquery)) makes the ids an init-plan the update then fetches by primary key; with
        # "id IN (subquery)" the planner may hash-join against a scan of the whole table.
        locked = candidates.with_for_update(skip_locked=True).scalar_subquery()
        picked: Any = jobs.c.id == sa.any_(sa.func.array(locked))
    else:
        picked = jobs.c.id.in_(candidates.scalar_subquery())
    stmt = (
        sa.update(jobs)
        .where(picked)
        .values(
            state=JobState.EXECUTING.value,
            attempt=jobs.c.attempt + 1,
            attempted_at=now,
            attempted_by=worker_id,
        )
        .returning(*(jobs.c[name] for name in CLAIM_COLUMN_NAMES))
    )
    rows = (await conn.execute(stmt)).all()
    claimed = [Job.claimed(row, worker_id=worker_id, now=now) for row in rows]
    claimed.sort(key=lambda job: (job.priority, job.scheduled_at, job.id))
    return claimed


async def errors_of(conn: AsyncConnection, job_id: int) -> list[dict[str, Any]]:
    """The errors recorded on a job so far (a claimed job does not carry them)."""
    value = (await conn.execute(sa.select(jobs.c.errors).where(jobs.c.id == job_id))).scalar_one_or_none()
    return list(value or [])


async def complete_many(conn: AsyncConnection, runs: Sequence[tuple[int, int]], now: datetime) -> int:
    """Mark ``(job id, attempt)`` runs completed in one statement; returns how many still matched."""
    return await bulk.complete_runs(conn, runs, now)


async def finish_attempt(conn: AsyncConnection, job: Job, target: JobState, *, now: datetime, **values: Any) -> bool:
    """Move the ``executing`` run ``job`` to ``target`` with ``values``; False when the run is stale."""
    check_transition(JobState.EXECUTING, target)
    if target in (JobState.COMPLETED, JobState.DISCARDED, JobState.CANCELLED):
        values.setdefault("finished_at", now)
    stmt = sa.update(jobs).where(_executing_guard(job.id, job.attempt)).values(state=target.value, **values)
    return (await conn.execute(stmt)).rowcount == 1


async def release(conn: AsyncConnection, runs: Iterable[tuple[int, int]], now: datetime) -> int:
    """Give runs back to their queue without spending their attempt (graceful shutdown)."""
    total = 0
    for job_id, attempt in runs:
        stmt = (
            sa.update(jobs)
            .where(_executing_guard(job_id, attempt))
            .values(
                state=JobState.AVAILABLE.value,
                scheduled_at=now,
                attempted_by=None,
                max_attempts=jobs.c.max_attempts + 1,
            )
        )
        total += (await conn.execute(stmt)).rowcount
    return total


async def orphaned(conn: AsyncConnection, *, now: datetime, lease: timedelta, limit: int = 500) -> list[Job]:
    """Executing jobs whose worker has not heartbeated within ``lease`` (or is gone)."""
    alive = sa.select(workers.c.id).where(workers.c.heartbeat_at >= now - lease)
    stmt = (
        sa.select(jobs)
        .where(
            _EXECUTING,
            sa.or_(jobs.c.attempted_by.is_(None), jobs.c.attempted_by.not_in(alive)),
        )
        .order_by(jobs.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return [Job.from_row(row) for row in (await conn.execute(stmt)).mappings().all()]


async def get(conn: AsyncConnection, job_id: int) -> Job | None:
    row = (await conn.execute(sa.select(jobs).where(jobs.c.id == job_id))).mappings().first()
    return Job.from_row(row) if row else None


async def make_available(
    conn: AsyncConnection, job_ids: Sequence[int], *, from_states: Iterable[JobState], now: datetime
) -> int:
    """Operator retry: put jobs in ``from_states`` back to ``available`` now, with attempts to spare."""
    allowed = sources_of(JobState.AVAILABLE) & frozenset(from_states)
    stmt = (
        sa.update(jobs)
        .where(jobs.c.id.in_(list(job_ids)), jobs.c.state.in_(sorted(s.value for s in allowed)))
        .values(
            state=JobState.AVAILABLE.value,
            scheduled_at=now,
            finished_at=None,
            attempted_by=None,
            max_attempts=sa.case(
                (jobs.c.attempt >= jobs.c.max_attempts, jobs.c.attempt + 1), else_=jobs.c.max_attempts
            ),
        )
    )
    return (await conn.execute(stmt)).rowcount


async def cancel(conn: AsyncConnection, job_id: int, *, now: datetime, reason: str) -> bool:
    """Operator cancel of a job that has not started (an executing one is left to finish)."""
    allowed = sorted(s.value for s in sources_of(JobState.CANCELLED) if s is not JobState.EXECUTING)
    row = (await conn.execute(sa.select(jobs.c.meta).where(jobs.c.id == job_id, jobs.c.state.in_(allowed)))).first()
    if row is None:
        return False
    stmt = (
        sa.update(jobs)
        .where(jobs.c.id == job_id, jobs.c.state.in_(allowed))
        .values(state=JobState.CANCELLED.value, finished_at=now, meta={**(row[0] or {}), "cancelled": reason})
    )
    return (await conn.execute(stmt)).rowcount == 1


async def set_paused(conn: AsyncConnection, queue: str, paused: bool, *, now: datetime, by: str) -> None:
    stmt = dialect.insert(conn, queue_states).values(name=queue, paused=paused, updated_at=now, updated_by=by)
    stmt = stmt.on_conflict_do_update(
        index_elements=[queue_states.c.name],
        set_={
            "paused": stmt.excluded.paused,
            "updated_at": stmt.excluded.updated_at,
            "updated_by": stmt.excluded.updated_by,
        },
    )
    await conn.execute(stmt)


async def heartbeat(
    conn: AsyncConnection, *, worker_id: str, host: str, pid: int, queues: list[str], now: datetime
) -> None:
    """Insert or refresh this worker's row; its jobs are safe from rescue while it is fresh."""
    stmt = dialect.insert(conn, workers).values(
        id=worker_id, host=host, pid=pid, queues=queues, started_at=now, heartbeat_at=now
    )
    stmt = stmt.on_conflict_do_update(index_elements=[workers.c.id], set_={"heartbeat_at": now})
    await conn.execute(stmt)


async def deregister(conn: AsyncConnection, worker_id: str) -> None:
    await conn.execute(sa.delete(workers).where(workers.c.id == worker_id))


async def forget_dead_workers(conn: AsyncConnection, *, before: datetime) -> int:
    return (await conn.execute(sa.delete(workers).where(workers.c.heartbeat_at < before))).rowcount


async def prune(conn: AsyncConnection, *, states: Iterable[JobState], before: datetime, limit: int = 10_000) -> int:
    """Delete up to ``limit`` finished jobs in ``states`` that finished before ``before``."""
    doomed = (
        sa.select(jobs.c.id)
        .where(jobs.c.state.in_(sorted(s.value for s in states)), jobs.c.finished_at < before)
        .limit(limit)
    )
    stmt = sa.delete(jobs).where(jobs.c.id.in_(doomed.scalar_subquery()))
    return (await conn.execute(stmt)).rowcount
