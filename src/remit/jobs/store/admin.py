"""What operators read and do: counts per queue, listings, retry, cancel, pause, bringing retries forward."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db import dialect
from remit.db.tables import jobs, queue_states
from remit.db.tables.jobs import RUNNABLE_STATES_SQL
from remit.jobs.records import Job
from remit.jobs.states import JOB_STATES, JobState


async def counts(conn: AsyncConnection) -> list[tuple[str, str, int]]:
    """``(queue, state, jobs)`` for every queue and state that has any."""
    stmt = sa.select(jobs.c.queue, jobs.c.state, sa.func.count()).group_by(jobs.c.queue, jobs.c.state)
    return [(queue, state, int(n)) for queue, state, n in await conn.execute(stmt)]


async def oldest_due(conn: AsyncConnection, now: datetime) -> list[tuple[str, datetime | None]]:
    """``(queue, scheduled_at of its oldest job due now)`` per queue that has one."""
    stmt = (
        sa.select(jobs.c.queue, sa.func.min(jobs.c.scheduled_at))
        .where(sa.text(RUNNABLE_STATES_SQL), jobs.c.scheduled_at <= now)
        .group_by(jobs.c.queue)
    )
    return [(queue, first) for queue, first in await conn.execute(stmt)]


async def paused_queues(conn: AsyncConnection) -> set[str]:
    return {row[0] for row in await conn.execute(sa.select(queue_states.c.name).where(queue_states.c.paused))}


async def queues_with_work(conn: AsyncConnection) -> set[str]:
    """The queues holding a job that may still run (read from the runnable partial index)."""
    stmt = sa.select(jobs.c.queue).where(sa.text(RUNNABLE_STATES_SQL)).distinct()
    return {row[0] for row in await conn.execute(stmt)}


async def queue_names(conn: AsyncConnection) -> set[str]:
    """Every queue with a pause row (paused or not)."""
    return {row[0] for row in await conn.execute(sa.select(queue_states.c.name))}


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


async def pause_running(conn: AsyncConnection, queues: Sequence[str], *, now: datetime, by: str) -> list[str]:
    """Pause those of ``queues`` that are not paused yet, in one guarded upsert (rows in name order, so two
    callers lock them in the same order); the names this call paused. A queue already paused keeps who paused
    it."""
    if not queues:
        return []
    rows = [{"name": name, "paused": True, "updated_at": now, "updated_by": by} for name in sorted(set(queues))]
    stmt = dialect.insert(conn, queue_states).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[queue_states.c.name],
        set_={"paused": True, "updated_at": stmt.excluded.updated_at, "updated_by": stmt.excluded.updated_by},
        where=queue_states.c.paused.is_(False),
    ).returning(queue_states.c.name)
    return sorted(row[0] for row in await conn.execute(stmt))


async def resume_paused(
    conn: AsyncConnection, queues: Sequence[str] | None, *, now: datetime, by: str, paused_by: str | None = None
) -> list[str]:
    """Resume those of ``queues`` (None: of every queue) that are paused and, given ``paused_by``, were last
    paused by it; the names this call resumed."""
    if queues is not None and not queues:
        return []
    stmt = (
        queue_states.update()
        .where(queue_states.c.paused.is_(True))
        .values(paused=False, updated_at=now, updated_by=by)
        .returning(queue_states.c.name)
    )
    if queues is not None:
        stmt = stmt.where(queue_states.c.name.in_(sorted(set(queues))))
    if paused_by is not None:
        stmt = stmt.where(queue_states.c.updated_by == paused_by)
    return sorted(row[0] for row in await conn.execute(stmt))


async def get(conn: AsyncConnection, job_id: int) -> Job | None:
    row = (await conn.execute(sa.select(jobs).where(jobs.c.id == job_id))).mappings().first()
    return Job.from_row(row) if row else None


async def list_jobs(
    conn: AsyncConnection,
    *,
    queue: str | None = None,
    state: JobState | None = None,
    name: str | None = None,
    limit: int = 50,
    ids: Sequence[int] | None = None,
) -> list[Job]:
    """Jobs matching every filter given, newest first."""
    stmt = sa.select(jobs).order_by(jobs.c.id.desc()).limit(limit)
    if queue:
        stmt = stmt.where(jobs.c.queue == queue)
    if state:
        stmt = stmt.where(jobs.c.state == state.value)
    if name:
        stmt = stmt.where(jobs.c.name == name)
    if ids is not None:
        stmt = stmt.where(jobs.c.id.in_(list(ids)))
    return [Job.from_row(row) for row in (await conn.execute(stmt)).mappings().all()]


async def make_available(
    conn: AsyncConnection, job_ids: Sequence[int], *, from_states: Iterable[JobState], now: datetime
) -> int:
    """Operator retry: put jobs in ``from_states`` back to ``available`` now, with attempts to spare."""
    allowed = JOB_STATES.sources_of(JobState.AVAILABLE) & frozenset(from_states)
    return await JOB_STATES.move(
        conn,
        jobs,
        JobState.AVAILABLE,
        jobs.c.id.in_(list(job_ids)),
        only_from=allowed,
        scheduled_at=now,
        finished_at=None,
        attempted_by=None,
        max_attempts=sa.case((jobs.c.attempt >= jobs.c.max_attempts, jobs.c.attempt + 1), else_=jobs.c.max_attempts),
    )


async def cancel(conn: AsyncConnection, job_id: int, *, now: datetime, reason: str) -> bool:
    """Operator cancel of a job that has not started (an executing one is left to finish)."""
    allowed = [s for s in JOB_STATES.sources_of(JobState.CANCELLED) if s is not JobState.EXECUTING]
    values = sorted(s.value for s in allowed)
    row = (await conn.execute(sa.select(jobs.c.meta).where(jobs.c.id == job_id, jobs.c.state.in_(values)))).first()
    if row is None:
        return False
    meta: dict[str, Any] = {**(row[0] or {}), "cancelled": reason}
    moved = await JOB_STATES.move(
        conn, jobs, JobState.CANCELLED, jobs.c.id == job_id, only_from=allowed, finished_at=now, meta=meta
    )
    return moved == 1


async def discarded(conn: AsyncConnection) -> list[tuple[int, str, str | None]]:
    """``(id, queue, unique key)`` of every discarded job."""
    stmt = sa.select(jobs.c.id, jobs.c.queue, jobs.c.unique_key).where(jobs.c.state == JobState.DISCARDED.value)
    return [(int(job_id), queue, key) for job_id, queue, key in await conn.execute(stmt)]


async def newest_with_keys(conn: AsyncConnection, unique_keys: Sequence[str], *, chunk: int = 500) -> dict[str, int]:
    """The highest job id holding each of ``unique_keys`` (in chunks: the list may be long)."""
    newest: dict[str, int] = {}
    keys = sorted(set(unique_keys))
    for start in range(0, len(keys), chunk):
        stmt = (
            sa.select(jobs.c.unique_key, sa.func.max(jobs.c.id))
            .where(jobs.c.unique_key.in_(keys[start : start + chunk]))
            .group_by(jobs.c.unique_key)
        )
        newest.update({key: int(last) for key, last in await conn.execute(stmt)})
    return newest


async def waiting_with_keys(conn: AsyncConnection, unique_keys: Sequence[str], states: Iterable[JobState]) -> list[int]:
    """The ids of jobs in ``states`` whose unique key is one of ``unique_keys``."""
    if not unique_keys:
        return []
    stmt = sa.select(jobs.c.id).where(
        jobs.c.unique_key.in_(list(unique_keys)), jobs.c.state.in_(sorted(s.value for s in states))
    )
    return [row[0] for row in await conn.execute(stmt)]


__all__ = [
    "cancel",
    "counts",
    "discarded",
    "get",
    "list_jobs",
    "make_available",
    "newest_with_keys",
    "oldest_due",
    "pause_running",
    "paused_queues",
    "queue_names",
    "queues_with_work",
    "resume_paused",
    "set_paused",
    "waiting_with_keys",
]
