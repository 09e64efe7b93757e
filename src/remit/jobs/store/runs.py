"""Runs: claiming due jobs, completing them in batches, settling other outcomes, releasing, progress.

A change to an ``executing`` job names the attempt it belongs to, so a worker that lost its lease (and whose
job was rescued and claimed again, with a higher attempt) cannot complete, fail or snooze a run that is no
longer its own: its late update matches no row.

Claiming takes a batch in one statement: on PostgreSQL ``UPDATE … WHERE id = ANY(ARRAY(SELECT … FOR UPDATE
SKIP LOCKED)) RETURNING``, so many workers share a queue without waiting on each other (``id = ANY(ARRAY(…))``
makes the ids an init-plan the update fetches by primary key; with ``id IN (subquery)`` the planner may
hash-join against a scan of the whole table); on SQLite the same ``UPDATE … RETURNING`` inside the ``BEGIN
IMMEDIATE`` transaction every connection uses. Claim and completion, the hot path, run on PostgreSQL as
prepared statements on the driver's connection (see ``_PG_CLAIM``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db.tables import jobs, queue_states
from remit.db.tables.jobs import RUNNABLE_STATES_SQL
from remit.db.types import UtcDateTime
from remit.jobs.notifier import PROGRESS_CHANNEL
from remit.jobs.records import Job
from remit.jobs.states import JOB_STATES, RUNNABLE, JobState

# The partial indexes' own predicates, as literal SQL: a planner can only use a partial index when the query
# implies its predicate, which bound parameters (and PostgreSQL's generic plans for prepared statements) hide.
_RUNNABLE = sa.text(RUNNABLE_STATES_SQL)

# Completions are grouped by attempt (nearly always a single group): "id = ANY(ids) AND attempt = n" fetches
# by primary key, where a join against (id, attempt) pairs would tempt the planner into a nested loop.
JOB_STATES.check(JobState.EXECUTING, JobState.COMPLETED)
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


# The PostgreSQL claim, written out once: the hot path of every worker. It runs on the driver's own
# connection (psycopg, inside the caller's SQLAlchemy transaction), prepared on the server, and returns the
# JSON columns as text for orjson: per claimed row that saves SQLAlchemy's row and type processing and the
# stdlib JSON decoder, most of what a worker spent on a no-op job. Same statement as the portable one below.
_PG_CLAIM = (
    f"UPDATE {jobs.name} SET state = 'executing', attempt = attempt + 1, attempted_at = %(now)s, "
    "attempted_by = %(worker)s "
    "WHERE id = ANY(ARRAY("
    f"SELECT id FROM {jobs.name} WHERE queue = %(queue)s AND {RUNNABLE_STATES_SQL} AND scheduled_at <= %(now)s "
    f"AND NOT EXISTS (SELECT 1 FROM {queue_states.name} WHERE name = %(queue)s AND paused) "
    "ORDER BY priority, scheduled_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)) "
    "RETURNING id, queue, name, args::text, attempt, max_attempts, priority, scheduled_at, timeout, meta::text"
)
_PG_COMPLETE_RAW = (
    f"UPDATE {jobs.name} SET state = 'completed', finished_at = %(now)s "
    "WHERE id = ANY(%(ids)s) AND attempt = %(attempt)s AND state = 'executing'"
)


async def _driver(conn: AsyncConnection) -> Any:
    """The driver's connection under ``conn`` (psycopg's or aiosqlite's), in the same transaction."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def _claim_postgres(conn: AsyncConnection, *, queue: str, limit: int, worker_id: str, now: datetime) -> list[Job]:
    driver = await _driver(conn)
    params = {"now": now, "worker": worker_id, "queue": queue, "limit": limit}
    cursor = await driver.execute(_PG_CLAIM, params, prepare=True)
    rows = await cursor.fetchall()
    loads = orjson.loads
    claimed = [
        Job.claimed(
            (job_id, q, name, loads(args), attempt, most, priority, at.astimezone(UTC), timeout, loads(meta)),
            worker_id=worker_id,
            now=now,
        )
        for job_id, q, name, args, attempt, most, priority, at, timeout, meta in rows
    ]
    claimed.sort(key=lambda job: (job.priority, job.scheduled_at, job.id))
    return claimed


# The same claim on SQLite: "id IN (subquery)" (SQLite has no SKIP LOCKED and needs none: the transaction
# already holds the write lock, BEGIN IMMEDIATE). Times are stored as naive UTC text there (UtcDateTime).
_SQLITE_CLAIM = (
    f"UPDATE {jobs.name} SET state = 'executing', attempt = attempt + 1, attempted_at = :now, attempted_by = :worker "
    "WHERE id IN ("
    f"SELECT id FROM {jobs.name} WHERE queue = :queue AND {RUNNABLE_STATES_SQL} AND scheduled_at <= :now "
    f"AND NOT EXISTS (SELECT 1 FROM {queue_states.name} WHERE name = :queue AND paused) "
    "ORDER BY priority, scheduled_at, id LIMIT :limit) "
    "RETURNING id, queue, name, args, attempt, max_attempts, priority, scheduled_at, timeout, meta"
)


async def _claim_sqlite(conn: AsyncConnection, *, queue: str, limit: int, worker_id: str, now: datetime) -> list[Job]:
    driver = await _driver(conn)
    stamp = now.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    params = {"now": stamp, "worker": worker_id, "queue": queue, "limit": limit}
    cursor = await driver.execute(_SQLITE_CLAIM, params)
    rows = await cursor.fetchall()
    await cursor.close()
    loads, parse = orjson.loads, datetime.fromisoformat
    claimed = [
        Job.claimed(
            (
                job_id,
                q,
                name,
                loads(args),
                attempt,
                most,
                priority,
                parse(at).replace(tzinfo=UTC),
                timeout,
                loads(meta),
            ),
            worker_id=worker_id,
            now=now,
        )
        for job_id, q, name, args, attempt, most, priority, at, timeout, meta in rows
    ]
    claimed.sort(key=lambda job: (job.priority, job.scheduled_at, job.id))
    return claimed


async def claim(conn: AsyncConnection, *, queue: str, limit: int, worker_id: str, now: datetime) -> list[Job]:
    """Move up to ``limit`` due jobs of ``queue`` to ``executing`` for ``worker_id`` and return them.

    A paused queue yields nothing: the pause is checked inside the same statement, so every worker obeys it
    at once. Jobs come back in priority, then schedule, then insertion order.
    """
    if conn.dialect.name == "postgresql":
        return await _claim_postgres(conn, queue=queue, limit=limit, worker_id=worker_id, now=now)
    return await _claim_sqlite(conn, queue=queue, limit=limit, worker_id=worker_id, now=now)


async def errors_of(conn: AsyncConnection, job_id: int) -> list[dict[str, Any]]:
    """The errors recorded on a job so far (a claimed job does not carry them)."""
    value = (await conn.execute(sa.select(jobs.c.errors).where(jobs.c.id == job_id))).scalar_one_or_none()
    return list(value or [])


async def complete(conn: AsyncConnection, runs: Sequence[tuple[int, int]], now: datetime) -> int:
    """Mark ``(id, attempt)`` runs completed where they are still executing; returns how many matched."""
    by_attempt: dict[int, list[int]] = {}
    for job_id, attempt in runs:
        by_attempt.setdefault(attempt, []).append(job_id)
    matched = 0
    if conn.dialect.name == "postgresql":
        driver = await _driver(conn)
        for attempt, ids in by_attempt.items():
            params = {"now": now, "attempt": attempt, "ids": ids}
            matched += (await driver.execute(_PG_COMPLETE_RAW, params, prepare=True)).rowcount
        return matched
    for attempt, ids in by_attempt.items():
        params = {"now": now, "attempt": attempt, "ids": json.dumps(ids)}
        matched += (await conn.execute(_SQLITE_COMPLETE, params)).rowcount
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
