"""The scheduler: runs periodic tasks and fires cron entries, each tick once, and records every run.

The worker calls :meth:`Scheduler.fire_due` every leader tick (about a second): as leader for everything,
otherwise only for tasks that run in every process. For each due leader-only item it claims the tick in the
database (:mod:`remit.jobs.store.periodic`) and then

- runs an inline periodic task (``queue`` None) at once, in this process;
- enqueues a queued periodic task as the job ``remit.periodic`` on its queue, unique per (task, tick), in the
  claiming transaction — the job then runs it (:meth:`Scheduler.run`) with the engine's retries;
- enqueues a cron entry's job, in the claiming transaction, with ``{"cron": name, "tick": …}`` in its meta.

Every run is wrapped alike: one log line (INFO when it counted something, DEBUG when all its counts are zero,
ERROR when it raised), ``remit_periodic_runs_total{task,outcome}`` and ``remit_periodic_run_seconds{task}``,
the ops event ``periodic.failed`` when it raised, and its outcome, counts and next run on its row — what
``remit schedule list`` shows. Outcomes come from :data:`OUTCOMES`; task names are declared in code, never ids.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from remit.clock import parse_instant
from remit.errors import JobError
from remit.jobs.context import JobContext, PeriodicContext
from remit.jobs.cron import CronEntry
from remit.jobs.definition import JobDefinition, UniqueBy
from remit.jobs.rows import JobRequest
from remit.jobs.store import periodic as store
from remit.periodic import Counts, PeriodicTask, next_run
from remit.telemetry import metrics, ops

if TYPE_CHECKING:
    from remit.jobs.engine import Engine

log = logging.getLogger("remit.jobs.scheduler")

#: Every value of the ``outcome`` label and of ``last_outcome``.
OUTCOMES = ("ok", "failed", "enqueued")
#: The job a queued periodic task runs as.
PERIODIC_JOB = "remit.periodic"

Item = PeriodicTask[PeriodicContext[Any]] | CronEntry


def declared(item: Item, queue_name: str | None) -> store.Declared:
    """How ``item`` is written on its row (``queue_name``: its queue as stored, if it has one)."""
    if isinstance(item, CronEntry):
        return store.Declared(item.name, "cron", item.schedule.describe(), True, queue_name)
    return store.Declared(item.name, "periodic", item.schedule.describe(), item.leader_only, queue_name)


@dataclass(frozen=True, slots=True)
class ScheduleEntry:
    """One line of ``remit schedule list``: what is declared, merged with what was recorded."""

    name: str
    kind: str
    schedule: str
    leader_only: bool
    queue: str | None
    last_run_at: datetime | None
    last_outcome: str | None
    last_counts: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None
    next_run_at: datetime | None = None
    declared: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "schedule": self.schedule,
            "leader_only": self.leader_only,
            "queue": self.queue,
            "last_run_at": self.last_run_at.isoformat() if self.last_run_at else None,
            "last_outcome": self.last_outcome,
            "last_counts": self.last_counts,
            "last_error": self.last_error,
            "next_run_at": self.next_run_at.isoformat() if self.next_run_at else None,
            "declared": self.declared,
        }


@dataclass(frozen=True, slots=True)
class Triggered:
    """What :meth:`Scheduler.trigger` did: the tick it was due for (None: not due now) and the job it enqueued
    (None: nothing was due, or another process had already taken that tick)."""

    name: str
    tick: datetime | None
    job_id: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tick": self.tick.isoformat() if self.tick else None,
            "enqueued": self.job_id is not None,
            "job_id": self.job_id,
        }


class Scheduler:
    """The periodic tasks and cron entries of one engine, and the per-process state of every-process ones."""

    def __init__(self, engine: Engine, tasks: Sequence[Item]) -> None:
        self._engine = engine
        self._items: dict[str, Item] = {}
        for item in tasks:
            existing = self._items.get(item.name)
            if existing is not None and existing != item:
                raise JobError(f"two periodic tasks or cron entries are named {item.name!r}")
            self._items[item.name] = item
        self._local_ticks: dict[str, datetime] = {}

    @property
    def items(self) -> list[Item]:
        return list(self._items.values())

    def get(self, name: str) -> Item:
        try:
            return self._items[name]
        except KeyError:
            raise JobError(f"no periodic task or cron entry is named {name!r}") from None

    def _queue_key(self, item: Item) -> str | None:
        return item.job.queue if isinstance(item, CronEntry) else item.queue

    def _declared(self, item: Item) -> store.Declared:
        key = self._queue_key(item)
        return declared(item, self._engine.settings.queue_name(key) if key else None)

    # -- firing ---------------------------------------------------------------------------------------------

    async def fire_due(self, *, leader: bool, app: Any = None) -> list[str]:
        """Run or enqueue every item due now that this process may take on; the names fired."""
        now = self._engine.clock.now()
        fired: list[str] = []
        shared = [item for item in self._items.values() if _leader_only(item)] if leader else []
        if shared:
            async with self._engine.db.connect() as conn:
                current = await store.rows(conn)
            for item in shared:
                row = current.get(item.name)
                seen = row["last_tick"] if row else None
                tick = item.schedule.due(seen, now)
                if tick is not None and await self._fire_shared(item, tick, seen, row is not None, app):
                    fired.append(item.name)
        for item in self._items.values():
            if _leader_only(item):
                continue
            tick = item.schedule.due(self._local_ticks.get(item.name), now)
            if tick is None:
                continue
            self._local_ticks[item.name] = tick
            await self._fire_local(item, tick, app)
            fired.append(item.name)
        return fired

    async def _fire_shared(self, item: Item, tick: datetime, seen: datetime | None, exists: bool, app: Any) -> bool:
        """Claim ``tick`` for a leader-only item and act on it; False when another process claimed it."""
        engine, row = self._engine, self._declared(item)
        next_at = item.schedule.next_after(tick)
        inline = isinstance(item, PeriodicTask) and item.queue is None
        async with engine.db.begin() as conn:
            if not await store.claim(conn, row, seen=seen, exists=exists, tick=tick, next_run_at=next_at):
                return False
            if not inline:  # the job commits with its claimed tick, or neither does
                await engine.enqueue_many(conn, [self._request(item, tick)])
                await store.record(conn, row, **_enqueued(engine.clock.now(), next_at))
        if inline:
            await self.run(item.name, tick=tick, app=app)
        else:
            _log_enqueued(item, tick)
        return True

    async def _fire_local(self, item: Item, tick: datetime, app: Any) -> None:
        if isinstance(item, PeriodicTask) and item.queue is None:
            await self.run(item.name, tick=tick, app=app)
            return
        engine, row = self._engine, self._declared(item)
        async with engine.db.begin() as conn:
            await engine.enqueue_many(conn, [self._request(item, tick)])
            await store.record(conn, row, **_enqueued(engine.clock.now(), item.schedule.next_after(tick)))
        _log_enqueued(item, tick)

    async def trigger(self, name: str) -> Triggered:
        """Enqueue item ``name`` for its latest due tick now, claiming the tick as the leader would: what an
        external scheduler's call of ``POST /api/cron/{name}`` does. Never runs the work in the caller: an inline
        periodic task is enqueued as the ``remit.periodic`` job too. Two calls for one tick (two hosts' crons,
        or a leader that got there first) enqueue it once."""
        item, engine = self.get(name), self._engine
        now = engine.clock.now()
        async with engine.db.connect() as conn:
            row = (await store.rows(conn)).get(name)
        seen = row["last_tick"] if row else None
        tick = item.schedule.due(seen, now)
        if tick is None:
            return Triggered(name, None, None)
        next_at = item.schedule.next_after(tick)
        declared_row = self._declared(item)
        async with engine.db.begin() as conn:
            claimed = await store.claim(
                conn, declared_row, seen=seen, exists=row is not None, tick=tick, next_run_at=next_at
            )
            if not claimed:
                return Triggered(name, tick, None)
            ids = await engine.enqueue_many(conn, [self._request(item, tick)])
            await store.record(conn, declared_row, **_enqueued(now, next_at))
        _log_enqueued(item, tick)
        return Triggered(name, tick, ids[0] if ids else None)

    def _request(self, item: Item, tick: datetime) -> JobRequest:
        if isinstance(item, CronEntry):
            return JobRequest(item.job, dict(item.args), meta={"cron": item.name, "tick": tick.isoformat()})
        return JobRequest(
            PERIODIC_DEFINITION,
            {"task": item.name, "tick": tick.isoformat()},
            queue=item.queue,
            meta={"periodic": item.name},
        )

    # -- running --------------------------------------------------------------------------------------------

    async def run(
        self, name: str, *, tick: datetime | None = None, app: Any = None, raise_errors: bool = False
    ) -> Counts | None:
        """Run periodic task ``name`` once now, wrapped and recorded (see the module docs); its counts, or None
        when it raised (re-raised with ``raise_errors``: the ``remit.periodic`` job retries then)."""
        item = self.get(name)
        if isinstance(item, CronEntry):
            raise JobError(f"{name!r} is a cron entry: it enqueues {item.job.name}, it does not run")
        engine, row = self._engine, self._declared(item)
        at = engine.clock.now()
        tick = tick or at
        next_at = item.schedule.next_after(tick)
        started = time.perf_counter()
        try:
            ran = await item.run(PeriodicContext(name, tick, engine, app))
            counts = {str(key): int(value) for key, value in ran.items()}
        except Exception as exc:
            duration = time.perf_counter() - started
            log.error(
                "periodic task failed",
                extra={"task": name, "error_type": type(exc).__name__, "duration_s": round(duration, 3)},
            )
            _count(name, "failed", duration)
            ops.emit("periodic.failed", task=name, error_type=type(exc).__name__)
            await self._record(row, at, "failed", {}, type(exc).__name__, duration, next_at)
            if raise_errors:
                raise
            return None
        duration = time.perf_counter() - started
        level = logging.INFO if any(counts.values()) else logging.DEBUG
        log.log(level, "periodic task ran", extra={"task": name, "counts": counts, "duration_s": round(duration, 3)})
        _count(name, "ok", duration)
        await self._record(row, at, "ok", counts, None, duration, next_at)
        return counts

    async def _record(
        self,
        row: store.Declared,
        at: datetime,
        outcome: str,
        counts: Mapping[str, int],
        error: str | None,
        duration: float,
        next_at: datetime,
    ) -> None:
        try:
            async with self._engine.db.begin() as conn:
                await store.record(
                    conn,
                    row,
                    last_run_at=at,
                    last_outcome=outcome,
                    last_counts=dict(counts),
                    last_error=error,
                    last_duration_s=round(duration, 6),
                    next_run_at=next_at,
                )
        except Exception as exc:  # the run itself happened; a lost record must not turn it into a failure
            log.warning("periodic run not recorded", extra={"task": row.name, "error_type": type(exc).__name__})

    # -- listing --------------------------------------------------------------------------------------------

    async def entries(self) -> list[ScheduleEntry]:
        """Every declared item with what was recorded of it, then recorded ones this process does not declare."""
        now = self._engine.clock.now()
        async with self._engine.db.connect() as conn:
            stored = await store.rows(conn)
        listed = []
        for item in self._items.values():
            row, declared_row = stored.pop(item.name, None) or {}, self._declared(item)
            if _leader_only(item):
                next_at = next_run(item.schedule, row.get("last_tick"), now)
            else:  # each process keeps its own ticks: show the last recorded by any
                next_at = row.get("next_run_at") or now
            listed.append(
                ScheduleEntry(
                    name=item.name,
                    kind=declared_row.kind,
                    schedule=declared_row.schedule,
                    leader_only=declared_row.leader_only,
                    queue=declared_row.queue,
                    last_run_at=row.get("last_run_at"),
                    last_outcome=row.get("last_outcome"),
                    last_counts=dict(row.get("last_counts") or {}),
                    last_error=row.get("last_error"),
                    next_run_at=next_at,
                )
            )
        for row in stored.values():
            listed.append(
                ScheduleEntry(
                    name=row["name"],
                    kind=row["kind"],
                    schedule=row["schedule"],
                    leader_only=bool(row["leader_only"]),
                    queue=row["queue"],
                    last_run_at=row["last_run_at"],
                    last_outcome=row["last_outcome"],
                    last_counts=dict(row["last_counts"] or {}),
                    last_error=row["last_error"],
                    next_run_at=row["next_run_at"],
                    declared=False,
                )
            )
        return listed


def _leader_only(item: Item) -> bool:
    return True if isinstance(item, CronEntry) else item.leader_only


def _enqueued(at: datetime, next_at: datetime) -> dict[str, Any]:
    return {
        "last_run_at": at,
        "last_outcome": "enqueued",
        "last_counts": {},
        "last_error": None,
        "next_run_at": next_at,
    }


def _count(task: str, outcome: str, duration: float | None = None) -> None:
    metrics.periodic_runs_total.labels(task=task, outcome=outcome).inc()
    if duration is not None:
        metrics.periodic_run_seconds.labels(task=task).observe(duration)


def _log_enqueued(item: Item, tick: datetime) -> None:
    _count(item.name, "enqueued")
    log.info("periodic work enqueued", extra={"task": item.name, "tick": tick.isoformat()})


async def _run_periodic_job(ctx: JobContext[Any], task: str, tick: str) -> None:
    """The job a queued periodic task runs as: run it, wrapped and recorded; a failure retries the job."""
    await ctx.engine.run_periodic(task, tick=parse_instant(tick), app=ctx.app, raise_errors=True)


#: ``remit.periodic``: registered by every engine; its queue is each task's own (given at enqueue).
PERIODIC_DEFINITION = JobDefinition(
    name=PERIODIC_JOB,
    func=_run_periodic_job,
    queue="remit_maintenance",
    max_attempts=3,
    unique=UniqueBy("task", "tick"),
)

__all__ = ["OUTCOMES", "PERIODIC_DEFINITION", "PERIODIC_JOB", "ScheduleEntry", "Scheduler", "Triggered"]
