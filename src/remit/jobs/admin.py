"""Read-only views and operator actions on the job engine, shared by the CLI, the API and ``doctor``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db.engine import Database
from remit.db.tables import audit_log, jobs, queue_states, workers
from remit.db.tables.jobs import RUNNABLE_STATES_SQL
from remit.jobs import store
from remit.jobs.records import Job
from remit.jobs.states import JobState
from remit.telemetry import metrics

_STATES = [state.value for state in JobState]


@dataclass(frozen=True, slots=True)
class QueueStats:
    name: str
    available: int = 0
    scheduled: int = 0
    executing: int = 0
    retryable: int = 0
    completed: int = 0
    discarded: int = 0
    cancelled: int = 0
    oldest_available_age_s: float = 0.0
    paused: bool = False
    concurrency: int | None = None

    @property
    def depth(self) -> int:
        """Jobs waiting to run (due or not)."""
        return self.available + self.scheduled + self.retryable

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "depth": self.depth}


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    id: str
    host: str
    pid: int
    queues: list[str]
    started_at: datetime
    heartbeat_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "started_at": self.started_at.isoformat(),
            "heartbeat_at": self.heartbeat_at.isoformat(),
        }


async def queue_stats(db: Database, now: datetime, configured: dict[str, int] | None = None) -> list[QueueStats]:
    """Per-queue counts by state, the age of the oldest due job, and the pause flag.

    ``configured`` (name → concurrency) adds queues that have no job yet.
    """
    async with db.connect() as conn:
        by_state = sa.select(jobs.c.queue, jobs.c.state, sa.func.count()).group_by(jobs.c.queue, jobs.c.state)
        counts = (await conn.execute(by_state)).all()
        oldest = (
            await conn.execute(
                sa.select(jobs.c.queue, sa.func.min(jobs.c.scheduled_at))
                .where(sa.text(RUNNABLE_STATES_SQL), jobs.c.scheduled_at <= now)
                .group_by(jobs.c.queue)
            )
        ).all()
        paused = {row[0] for row in await conn.execute(sa.select(queue_states.c.name).where(queue_states.c.paused))}
    by_queue: dict[str, dict[str, Any]] = {name: {} for name in (configured or {})}
    for queue, state, n in counts:
        by_queue.setdefault(queue, {})[state] = int(n)
    ages: dict[str, float] = {}
    for queue, first in oldest:
        if first is not None:
            first = first if first.tzinfo else first.replace(tzinfo=now.tzinfo)
            ages[queue] = max(0.0, (now - first).total_seconds())
    for queue in paused:
        by_queue.setdefault(queue, {})
    return [
        QueueStats(
            name=name,
            **{state: by_queue[name].get(state, 0) for state in _STATES},
            oldest_available_age_s=round(ages.get(name, 0.0), 3),
            paused=name in paused,
            concurrency=(configured or {}).get(name),
        )
        for name in sorted(by_queue)
    ]


async def discarded_not_redone(db: Database) -> dict[str, int]:
    """Discarded jobs per queue whose work was not done again since: a discarded job is redone when a later
    job with the same unique key was enqueued (a replayed webhook event's fresh dispatch). What is left is
    what still needs an operator, so ``remit doctor`` stops counting a dead letter that was fixed and replayed.
    """
    async with db.connect() as conn:
        discarded = (
            await conn.execute(
                sa.select(jobs.c.id, jobs.c.queue, jobs.c.unique_key).where(jobs.c.state == JobState.DISCARDED.value)
            )
        ).all()
        keys = sorted({key for _id, _queue, key in discarded if key is not None})
        newest: dict[str, int] = {}
        for start in range(0, len(keys), 500):
            stmt = (
                sa.select(jobs.c.unique_key, sa.func.max(jobs.c.id))
                .where(jobs.c.unique_key.in_(keys[start : start + 500]))
                .group_by(jobs.c.unique_key)
            )
            newest.update({key: int(last) for key, last in await conn.execute(stmt)})
    counts: dict[str, int] = {}
    for job_id, queue, key in discarded:
        if key is None or newest.get(key, job_id) <= job_id:
            counts[queue] = counts.get(queue, 0) + 1
    return counts


async def live_workers(db: Database, now: datetime, lease_seconds: float) -> list[WorkerInfo]:
    async with db.connect() as conn:
        rows = (
            (
                await conn.execute(
                    sa.select(workers)
                    .where(workers.c.heartbeat_at >= now - timedelta(seconds=lease_seconds))
                    .order_by(workers.c.started_at)
                )
            )
            .mappings()
            .all()
        )
    return [
        WorkerInfo(r["id"], r["host"], r["pid"], list(r["queues"]), r["started_at"], r["heartbeat_at"]) for r in rows
    ]


async def refresh_metrics(
    db: Database, now: datetime, lease_seconds: float, configured: dict[str, int] | None = None
) -> None:
    """Set the database-derived gauges (queue depth by state, oldest age, paused, workers alive)."""
    for stats in await queue_stats(db, now, configured):
        for state in _STATES:
            metrics.queue_jobs.labels(queue=stats.name, state=state).set(getattr(stats, state))
        metrics.queue_oldest_available_age_seconds.labels(queue=stats.name).set(stats.oldest_available_age_s)
        metrics.queue_paused.labels(queue=stats.name).set(1 if stats.paused else 0)
    metrics.workers_alive.set(len(await live_workers(db, now, lease_seconds)))


async def list_jobs(
    db: Database,
    *,
    queue: str | None = None,
    state: str | None = None,
    name: str | None = None,
    limit: int = 50,
    ids: list[int] | None = None,
) -> list[Job]:
    stmt = sa.select(jobs).order_by(jobs.c.id.desc()).limit(limit)
    if queue:
        stmt = stmt.where(jobs.c.queue == queue)
    if state:
        stmt = stmt.where(jobs.c.state == JobState(state).value)
    if name:
        stmt = stmt.where(jobs.c.name == name)
    if ids is not None:
        stmt = stmt.where(jobs.c.id.in_(ids))
    async with db.connect() as conn:
        return [Job.from_row(row) for row in (await conn.execute(stmt)).mappings().all()]


async def audit(
    conn: AsyncConnection,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str | None,
    details: dict[str, Any],
    note: str | None = None,
) -> None:
    """Append one line to the operator audit trail (who did what, when)."""
    await conn.execute(
        sa.insert(audit_log).values(at=at, actor=actor, action=action, subject=subject, details=details, note=note)
    )


async def retry_jobs(db: Database, job_ids: list[int], *, now: datetime, actor: str) -> int:
    """Put discarded, cancelled or retryable jobs back to ``available`` now; audited."""
    async with db.begin() as conn:
        changed = await store.make_available(
            conn,
            job_ids,
            from_states=[JobState.DISCARDED, JobState.CANCELLED, JobState.RETRYABLE, JobState.SCHEDULED],
            now=now,
        )
        await audit(
            conn,
            at=now,
            actor=actor,
            action="jobs.retry",
            subject=None,
            details={"job_ids": job_ids[:1000], "requested": len(job_ids), "changed": changed},
        )
    return changed


async def cancel_job(db: Database, job_id: int, *, now: datetime, actor: str, reason: str) -> bool:
    async with db.begin() as conn:
        done = await store.cancel(conn, job_id, now=now, reason=reason)
        if done:
            await audit(
                conn, at=now, actor=actor, action="jobs.cancel", subject=f"job:{job_id}", details={"reason": reason}
            )
    return done


async def set_paused(db: Database, queue: str, paused: bool, *, now: datetime, actor: str) -> None:
    async with db.begin() as conn:
        await store.set_paused(conn, queue, paused, now=now, by=actor)
        await audit(
            conn,
            at=now,
            actor=actor,
            action="queues.pause" if paused else "queues.resume",
            subject=f"queue:{queue}",
            details={},
        )
