"""Runs: claiming due jobs, completing them in batches, settling other outcomes, releasing, progress.

A change to an ``executing`` job names the attempt it belongs to, so a worker that lost its lease (and whose
job was rescued and claimed again, with a higher attempt) cannot complete, fail or snooze a run that is no
longer its own: its late update matches no row.

Claiming takes a batch in one statement: on PostgreSQL ``UPDATE … WHERE id = ANY(ARRAY(SELECT … FOR UPDATE
SKIP LOCKED)) RETURNING``, so many workers share a queue without waiting on each other; on SQLite the same
``UPDATE … RETURNING`` inside the ``BEGIN IMMEDIATE`` transaction every connection uses.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db.tables import jobs, queue_states
from remit.db.tables.jobs import RUNNABLE_STATES_SQL
from remit.db.types import UtcDateTime
from remit.jobs.notifier import PROGRESS_CHANNEL
from remit.jobs.records import CLAIM_COLUMN_NAMES, Job
from remit.jobs.states import JOB_STATES, RUNNABLE, JobState

# The partial indexes' own predicates, as literal SQL: a planner can only use a partial index when the query
# implies its predicate, which bound parameters (and PostgreSQL's generic plans for prepared statements) hide.
_RUNNABLE = sa.text(RUNNABLE_STATES_SQL)

# Completions are grouped by attempt (nearly always a single group): "id = ANY(ids) AND attempt = n" fetches
# by primary key, where a join against (id, attempt) pairs would tempt the planner into a nested loop.
JOB_STATES.check(JobState.EXECUTING, JobState.COMPLETED)
_PG_COMPLETE = sa.text(
    f"UPDATE {jobs.name} SET state = 'completed', finished_at = :now "
    "WHERE id = ANY(CAST(:ids AS bigint[])) AND attempt = :attempt AND state = 'executing'"
).bindparams(sa.bindparam("now", type_=UtcDateTime()))

_SQLITE_COMPLETE = sa.text(
    f"UPDATE {jobs.name} SET state = 'completed', finished_at = :now "
    "WHERE id IN (SELECT value FROM json_each(:ids)) AND attempt = :attempt AND state = 'executing'"
).bindparams(sa.bindparam("now", type_=UtcDateTime()))


def the_run(job_id: int, attempt: int) -> Any:
    """The run ``attempt`` of job ``job_id``; changes to it add "and still executing"."""
    return sa.and_(jobs.c.id == job_id, jobs.c.attempt == attempt)


def executing_guard(job_id: int, attempt: int) -> Any:
    """The WHERE of a change to a run that is not a state change: this job, this attempt, still executing."""
    return sa.and_(the_run(job_id, attempt), jobs.c.state == JobState.EXECUTING.value)


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


async def complete(conn: AsyncConnection, runs: Sequence[tuple[int, int]], now: datetime) -> int:
    """Mark ``(id, attempt)`` runs completed where they are still executing; returns how many matched."""
    by_attempt: dict[int, list[int]] = {}
    for job_id, attempt in runs:
        by_attempt.setdefault(attempt, []).append(job_id)
    postgres = conn.dialect.name == "postgresql"
    stmt = _PG_COMPLETE if postgres else _SQLITE_COMPLETE
    matched = 0
    for attempt, ids in by_attempt.items():
        params = {"now": now, "attempt": attempt, "ids": ids if postgres else json.dumps(ids)}
        matched += (await conn.execute(stmt, params)).rowcount
    return matched


async def finish(conn: AsyncConnection, job: Job, target: JobState, *, now: datetime, **values: Any) -> bool:
    """Move the ``executing`` run ``job`` to ``target`` with ``values``; False when the run is stale."""
    if target in (JobState.COMPLETED, JobState.DISCARDED, JobState.CANCELLED):
        values.setdefault("finished_at", now)
    stmt = JOB_STATES.update(jobs, target, the_run(job.id, job.attempt), only_from=[JobState.EXECUTING], **values)
    return (await conn.execute(stmt)).rowcount == 1


async def release(conn: AsyncConnection, runs: Iterable[tuple[int, int]], now: datetime) -> int:
    """Give runs back to their queue without spending their attempt (graceful shutdown)."""
    total = 0
    for job_id, attempt in runs:
        total += await JOB_STATES.move(
            conn,
            jobs,
            JobState.AVAILABLE,
            the_run(job_id, attempt),
            only_from=[JobState.EXECUTING],
            scheduled_at=now,
            attempted_by=None,
            max_attempts=jobs.c.max_attempts + 1,
        )
    return total


async def record_progress(conn: AsyncConnection, job: Job, meta: Mapping[str, Any]) -> bool:
    """Set the meta of the run ``job`` while it still executes; False when it no longer does."""
    stmt = sa.update(jobs).where(executing_guard(job.id, job.attempt)).values(meta=dict(meta))
    return (await conn.execute(stmt)).rowcount == 1


async def notify_progress(conn: AsyncConnection, job_ids: Sequence[int]) -> None:
    """Tell the followers of ``job_ids`` that they moved, as the caller's transaction commits (PostgreSQL)."""
    notify = sa.text("SELECT pg_notify(:channel, CAST(id AS text)) FROM unnest(CAST(:ids AS bigint[])) AS id")
    await conn.execute(notify, {"channel": PROGRESS_CHANNEL, "ids": list(job_ids)})


async def due_queues(conn: AsyncConnection, now: datetime) -> list[str]:
    """The queues that hold a job due now."""
    stmt = (
        sa.select(jobs.c.queue)
        .where(jobs.c.state.in_([s.value for s in RUNNABLE]), jobs.c.scheduled_at <= now)
        .distinct()
    )
    return [row[0] for row in await conn.execute(stmt)]


__all__ = [
    "claim",
    "complete",
    "due_queues",
    "errors_of",
    "executing_guard",
    "finish",
    "notify_progress",
    "record_progress",
    "release",
    "the_run",
]
