"""Upkeep statements: the executing jobs of dead workers, the runs a live worker does not hold, and finished
jobs past their retention."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db.tables import jobs, workers
from remit.jobs.records import Job
from remit.jobs.states import JobState
from remit.jobs.store.workers import alive_ids

# Rescue looks for executing jobs a few times a minute on the leader only, and can afford a scan: no index
# covers 'executing' (see the table's comments).
_EXECUTING = sa.text("state = 'executing'")


async def orphaned(conn: AsyncConnection, *, now: datetime, lease: timedelta, limit: int = 500) -> list[Job]:
    """Executing jobs whose worker has not heartbeated within ``lease`` (or is gone)."""
    stmt = (
        sa.select(jobs)
        .where(
            _EXECUTING,
            sa.or_(jobs.c.attempted_by.is_(None), jobs.c.attempted_by.not_in(alive_ids(now - lease))),
        )
        .order_by(jobs.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return [Job.from_row(row) for row in (await conn.execute(stmt)).mappings().all()]


async def not_held(conn: AsyncConnection, *, now: datetime, lease: timedelta, limit: int = 500) -> list[Job]:
    """Executing jobs of live workers that the worker's last heartbeat says it does not hold: claimed before
    the instant its list of held runs is complete for, and not on that list."""
    stmt = (
        sa.select(jobs, workers.c.running)
        .join(workers, workers.c.id == jobs.c.attempted_by)
        .where(
            _EXECUTING,
            workers.c.heartbeat_at >= now - lease,
            workers.c.running_as_of.is_not(None),
            jobs.c.attempted_at < workers.c.running_as_of,
        )
        .order_by(jobs.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=jobs, skip_locked=True)
    rows = (await conn.execute(stmt)).mappings().all()
    return [Job.from_row(row) for row in rows if not is_held(row["id"], row["running"])]


def is_held(job_id: int, running: object) -> bool:
    """Whether a worker's ``running`` list (as stored) names ``job_id`` (pure)."""
    return isinstance(running, list) and job_id in running


async def prune(conn: AsyncConnection, *, states: Iterable[JobState], before: datetime, limit: int = 10_000) -> int:
    """Delete up to ``limit`` finished jobs in ``states`` that finished before ``before``."""
    doomed = (
        sa.select(jobs.c.id)
        .where(jobs.c.state.in_(sorted(s.value for s in states)), jobs.c.finished_at < before)
        .limit(limit)
    )
    stmt = sa.delete(jobs).where(jobs.c.id.in_(doomed.scalar_subquery()))
    return int((await conn.execute(stmt)).rowcount)


__all__ = ["is_held", "not_held", "orphaned", "prune"]
