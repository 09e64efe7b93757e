"""The job engine behind one seam: :class:`Engine` owns every statement on the engine's tables.

Built from the database, the clock, a :class:`~remit.jobs.definition.JobRegistry`, the engine's settings and
the periodic work to schedule, it is what everything else talks to — the worker, the scheduler, the webhook
ingest and replay, the CLI, the API, ``remit doctor`` and tests::

    engine = runtime.engine
    async with engine.db.begin() as conn:             # the caller's own transaction
        await engine.enqueue(conn, send_invoice, {"invoice_id": 42})
    await engine.retry([7, 8], actor="operator:ada")   # audited

The SQL lives in :mod:`remit.jobs.store`, one module per concern; the pure rules (backoff, what an outcome
means, schedules) in their own modules. Methods that take a ``conn`` write in the caller's transaction (so a
billing write and the job it implies commit together); the others open their own. Nothing here knows the
runtime: a job's ``ctx.app`` is whatever the worker was handed.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from remit import audit
from remit.clock import Clock, system_clock
from remit.config import QueueSpec
from remit.db.engine import Database
from remit.jobs import admin, maintenance, outcomes, progress, settle
from remit.jobs.admin import QueueStats, WorkerInfo
from remit.jobs.cron import CronEntry
from remit.jobs.definition import JobDefinition, JobRegistry
from remit.jobs.outcomes import Discarded, Failed, Outcome, Plan
from remit.jobs.progress import Progress, ProgressFeed
from remit.jobs.records import Job
from remit.jobs.retry import DEFAULT_BACKOFF
from remit.jobs.rows import JobRequest, build_row
from remit.jobs.scheduler import PERIODIC_DEFINITION, Item, ScheduleEntry, Scheduler, Triggered
from remit.jobs.settings import JobSettings
from remit.jobs.states import JobState
from remit.jobs.store import admin as admin_store
from remit.jobs.store import enqueue as enqueue_store
from remit.jobs.store import runs, workers
from remit.periodic import Counts, PeriodicTask
from remit.telemetry import metrics

if TYPE_CHECKING:
    from remit.jobs.context import PeriodicContext

log = logging.getLogger("remit.jobs")

#: The leadership the scheduler holds in ``remit_leaders``.
SCHEDULER_LEADERSHIP = "scheduler"
#: Operator retry may take a job back from these states.
RETRYABLE_BY_OPERATOR = (JobState.DISCARDED, JobState.CANCELLED, JobState.RETRYABLE, JobState.SCHEDULED)


class Engine:
    """The job engine of one process (see the module docs)."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock = system_clock,
        registry: JobRegistry | None = None,
        settings: JobSettings | None = None,
        periodic: Iterable[PeriodicTask[PeriodicContext[Any]]] = (),
        cron: Iterable[CronEntry] = (),
    ) -> None:
        self.db = db
        self.clock = clock
        self.registry = registry if registry is not None else JobRegistry()
        self.registry.add(PERIODIC_DEFINITION)
        self.settings = settings or JobSettings()
        upkeep = maintenance.maintenance_tasks(self.settings.lease_seconds, self.settings.leader_tick)
        items: list[Item] = [*upkeep, *periodic, *cron]
        self._scheduler = Scheduler(self, items)
        self._progress_feed: ProgressFeed | None = None
        #: Jobs running in this process that reported progress: their end is announced to followers too (on
        #: PostgreSQL), so a job that never reports progress costs the completion path nothing.
        self._reporting: set[int] = set()
        #: The statistics the last :meth:`refresh_metrics` read (None before the first).
        self.last_queue_stats: list[QueueStats] | None = None

    # -- queues ---------------------------------------------------------------------------------------------

    @property
    def queues(self) -> dict[str, QueueSpec]:
        """The configured queues by key (``REMIT_QUEUES`` over remit's defaults)."""
        return dict(self.settings.queues)

    def queue_name(self, key: str) -> str:
        """The stored name of queue ``key`` (a key nobody configured is its own name)."""
        return self.settings.queue_name(key)

    # -- enqueue --------------------------------------------------------------------------------------------

    def definition(self, job: JobDefinition | str) -> JobDefinition:
        """``job`` itself, or the definition registered under that name (:class:`~remit.errors.UnknownJob`)."""
        return job if isinstance(job, JobDefinition) else self.registry.get(job)

    def build_row(self, request: JobRequest, now: datetime | None = None) -> dict[str, Any]:
        """The row ``request`` is inserted as (pure, given ``now``): every enqueue path inserts exactly this."""
        definition = self.definition(request.job)
        queue = self.queue_name(request.queue or definition.queue)
        return build_row(request, definition, queue=queue, now=now or self.clock.now())

    async def enqueue(
        self, conn: AsyncConnection, job: JobDefinition | str, args: Mapping[str, Any] | None = None, **options: Any
    ) -> int | None:
        """Insert one job on ``conn`` (in its transaction). Returns the new id, or None when a pending job with
        the same unique key already exists. ``options`` are the other :class:`JobRequest` fields."""
        row = self.build_row(JobRequest(job, args or {}, **options))
        # The batch statement is plain text, so SQLAlchemy caches its compiled form; an ON CONFLICT insert built
        # with the dialect's Insert would be compiled again on every call.
        ids = await enqueue_store.insert_rows(conn, [row])
        return ids[0] if ids else None

    async def enqueue_many(
        self, conn: AsyncConnection, requests: Sequence[JobRequest], *, now: datetime | None = None
    ) -> list[int]:
        """Insert many jobs in one statement (any number of rows, one round trip); the ids of those inserted
        (unique twins of pending jobs are skipped). ``now`` stamps the rows (default: the engine's clock; the
        webhook ingest stamps a dispatch job with its event's arrival)."""
        if not requests:
            return []
        now = now or self.clock.now()
        if len(requests) >= enqueue_store.COPY_FROM_ROWS and conn.dialect.name == "postgresql":
            parts = self._copy_parts(requests, now)
            if parts is not None:
                return await enqueue_store.copy_rows(conn, *parts)
        return await enqueue_store.insert_rows(conn, [self.build_row(request, now) for request in requests])

    def _copy_parts(self, requests: Sequence[JobRequest], now: datetime) -> tuple[list[bytes], list[bytes]] | None:
        """The rows of ``requests`` laid out for ``COPY`` (:class:`~remit.jobs.store.enqueue.CopyFormatter`'s
        arguments and tails), or None when one has a unique key (``COPY`` cannot skip a pending twin).

        A request that sets nothing but its job and arguments — nearly every one of a large batch — has the same
        row as any such request of the same job but for its arguments (a job with a unique policy aside, which
        sends the whole batch to the statement): its tail is the first one's, built by :meth:`build_row` like
        every other row, and the request costs one JSON encoding."""
        formatter = enqueue_store.CopyFormatter()
        copy_json = enqueue_store.copy_json
        plain_tails: dict[int, bytes] = {}  # by id() of the request's job: the requests keep each one alive
        args: list[bytes] = []
        tails: list[bytes] = []
        for request in requests:
            plain = (
                request.queue is None
                and request.scheduled_at is None
                and request.delay is None
                and request.priority is None
                and request.max_attempts is None
                and request.unique_key is None
                and request.meta is None
            )
            tail = plain_tails.get(id(request.job)) if plain else None
            if tail is None:
                row = self.build_row(request, now)
                if row["unique_key"] is not None:
                    return None
                tail = formatter.tail(row)
                if plain:
                    plain_tails[id(request.job)] = tail
                args.append(copy_json(row["args"]))
            else:
                given = request.args
                args.append(copy_json(given if type(given) is dict else dict(given)))
            tails.append(tail)
        return args, tails

    def enqueue_sync(
        self, conn: Connection, job: JobDefinition | str, args: Mapping[str, Any] | None = None, **options: Any
    ) -> int | None:
        """:meth:`enqueue` on a host's blocking SQLAlchemy connection."""
        return enqueue_store.insert_row_sync(conn, self.build_row(JobRequest(job, args or {}, **options)))

    @staticmethod
    def row_columns() -> tuple[sa.Column[Any], ...]:
        """The columns a job row is inserted with, for a statement that builds job rows itself."""
        return enqueue_store.row_columns()

    @staticmethod
    def insert_from_select(values: Mapping[str, str], source: str) -> str:
        """The ``INSERT INTO remit_jobs … SELECT …`` fragment a larger statement embeds (the PostgreSQL webhook
        ingest inserts its dispatch jobs so); see :func:`remit.jobs.store.enqueue.insert_from_select`."""
        return enqueue_store.insert_from_select(values, source)

    # -- runs -----------------------------------------------------------------------------------------------

    async def claim(
        self, queue: str, *, limit: int, worker_id: str, finished: Sequence[tuple[int, int]] = ()
    ) -> list[Job]:
        """Move up to ``limit`` due jobs of ``queue`` (a stored name) to ``executing`` and return them. Runs
        ``finished`` (``(job id, attempt)``) are marked completed first, in the same transaction: on SQLite,
        where each commit waits for the disk and writers take turns, a worker so commits once per batch."""
        now = self.clock.now()
        async with self.db.begin() as conn:
            if finished:
                await runs.complete(conn, finished, now)
            return await runs.claim(conn, queue=queue, limit=limit, worker_id=worker_id, now=now)

    async def complete(self, finished: Sequence[tuple[int, int]]) -> int:
        """Mark ``(job id, attempt)`` runs completed in one statement per attempt; how many still matched."""
        announce = [job_id for job_id, _ in finished if job_id in self._reporting]
        async with self.db.begin() as conn:
            matched = await runs.complete(conn, finished, self.clock.now())
            await self._announce(conn, announce)
        return matched

    async def settle(self, job: Job, outcome: Outcome, *, rand: float) -> Plan | None:
        """Record any outcome but completion: plan it (:func:`remit.jobs.outcomes.plan`), apply it with a
        guarded UPDATE, run discard hooks in the same transaction, then count it. None when the run was stale
        (rescued meanwhile): nothing was written."""
        definition = self.registry.get(job.name) if job.name in self.registry else None
        backoff = definition.backoff if definition else DEFAULT_BACKOFF
        now = self.clock.now()
        async with self.db.begin() as conn:
            if isinstance(outcome, Failed | Discarded) and job.errors is None:
                job = replace(job, errors=await runs.errors_of(conn, job.id))
            decided = outcomes.plan(job, outcome, now=now, backoff=backoff, rand=rand)
            applied = await settle.settle(conn, self.registry, job, decided, now=now)
            if applied:
                await self._announce(conn, [job.id] if job.id in self._reporting else [])
        if not applied:
            return None
        settle.count(job, decided)
        return decided

    async def release(self, unfinished: Sequence[tuple[int, int]]) -> int:
        """Give ``(job id, attempt)`` runs back to their queue without spending their attempt (shutdown)."""
        announce = [job_id for job_id, _ in unfinished if job_id in self._reporting]
        async with self.db.begin() as conn:
            released = await runs.release(conn, unfinished, self.clock.now())
            await self._announce(conn, announce)
        return released

    async def record_progress(self, job: Job, done: int, total: int | None = None) -> None:
        """Record how far the run ``job`` got, in its meta (while it still executes); on PostgreSQL its
        followers are notified as it commits (:mod:`remit.jobs.progress`)."""
        progress = {"done": done, "total": total, "at": self.clock.now().isoformat()}
        async with self.db.begin() as conn:
            recorded = await runs.record_progress(conn, job, {**job.meta, "progress": progress})
            if recorded and self.db.is_postgres:
                await runs.notify_progress(conn, [job.id])
        if recorded:
            self._reporting.add(job.id)

    async def _announce(self, conn: AsyncConnection, job_ids: Sequence[int]) -> None:
        """Notify the followers of ``job_ids`` (jobs that reported progress here) that their run ended."""
        if not job_ids:
            return
        self._reporting.difference_update(job_ids)
        if self.db.is_postgres:
            await runs.notify_progress(conn, job_ids)

    @property
    def progress_feed(self) -> ProgressFeed | None:
        """This process's listener for job progress (PostgreSQL only; None on SQLite, where followers poll)."""
        if self._progress_feed is None and self.db.is_postgres:
            self._progress_feed = ProgressFeed(self.db.url)
        return self._progress_feed

    def follow(self, job_id: int, *, poll: float | None = None) -> AsyncIterator[Progress]:
        """Job ``job_id``'s progress now and on every change until it finished: see :func:`progress.follow`."""
        return progress.follow(self, job_id, poll=poll)

    # -- presence and leadership ----------------------------------------------------------------------------

    async def heartbeat(
        self,
        worker_id: str,
        *,
        host: str,
        pid: int,
        queues: list[str],
        running: Sequence[int] | None = None,
        running_as_of: datetime | None = None,
    ) -> None:
        """Insert or refresh a worker's row. While it is fresh, its jobs are safe from rescue — except, when it
        names the runs it holds (``running``, complete for runs claimed before ``running_as_of``), the runs it
        does not name."""
        async with self.db.begin() as conn:
            await workers.heartbeat(
                conn,
                worker_id=worker_id,
                host=host,
                pid=pid,
                queues=queues,
                now=self.clock.now(),
                running=None if running is None else list(running),
                running_as_of=running_as_of,
            )

    async def sign_off(self, worker_id: str, *, resign: bool) -> None:
        """A worker leaves: give up leadership (when it held it) and delete its row."""
        async with self.db.begin() as conn:
            if resign:
                await workers.resign(conn, name=SCHEDULER_LEADERSHIP, holder=worker_id)
            await workers.deregister(conn, worker_id)

    async def try_lead(self, holder: str, *, ttl: timedelta | None = None, name: str = SCHEDULER_LEADERSHIP) -> bool:
        """Take or extend leadership ``name`` for ``holder`` (default: half a lease); True when held."""
        ttl = ttl or timedelta(seconds=self.settings.leader_ttl)
        async with self.db.begin() as conn:
            return await workers.try_lead(conn, name=name, holder=holder, now=self.clock.now(), ttl=ttl)

    # -- upkeep ---------------------------------------------------------------------------------------------

    async def rescue_orphans(self, *, lease: timedelta | None = None) -> int:
        """Return the executing jobs of workers silent past the lease to their queue (or discard them on their
        last attempt, with hooks); how many. The leader does this every quarter lease (``jobs.rescue``)."""
        return await maintenance.rescue_orphans(self, lease=lease)

    async def prune(self) -> int:
        """Delete finished jobs past their retention; how many. The leader does this every minute
        (``jobs.prune``)."""
        return await maintenance.prune_jobs(self)

    # -- periodic work --------------------------------------------------------------------------------------

    @property
    def scheduled(self) -> list[Item]:
        """Every periodic task and cron entry this engine schedules: its own upkeep first."""
        return self._scheduler.items

    async def fire_due(self, *, leader: bool = True, app: Any = None) -> list[str]:
        """Run or enqueue the periodic work due now (all of it as leader, else the every-process tasks); the
        names fired. The worker calls this every leader tick."""
        return await self._scheduler.fire_due(leader=leader, app=app)

    async def run_periodic(
        self, name: str, *, tick: datetime | None = None, app: Any = None, raise_errors: bool = False
    ) -> Counts | None:
        """Run periodic task ``name`` once now, wrapped (log, metric, ops event on failure) and recorded."""
        return await self._scheduler.run(name, tick=tick, app=app, raise_errors=raise_errors)

    async def trigger(self, name: str) -> Triggered:
        """Enqueue periodic task or cron entry ``name`` for its due tick, once per tick across processes (an
        external scheduler's call); see :meth:`Scheduler.trigger`."""
        return await self._scheduler.trigger(name)

    async def schedule(self) -> list[ScheduleEntry]:
        """What ``remit schedule list`` shows: every periodic task and cron entry, with its last and next run."""
        return await self._scheduler.entries()

    # -- reading --------------------------------------------------------------------------------------------

    async def get(self, job_id: int) -> Job | None:
        async with self.db.connect() as conn:
            return await admin_store.get(conn, job_id)

    async def list_jobs(
        self,
        *,
        queue: str | None = None,
        state: JobState | str | None = None,
        name: str | None = None,
        limit: int = 50,
        ids: Sequence[int] | None = None,
    ) -> list[Job]:
        """Jobs matching every filter given, newest first."""
        wanted = JobState(state) if state else None
        async with self.db.connect() as conn:
            return await admin_store.list_jobs(conn, queue=queue, state=wanted, name=name, limit=limit, ids=ids)

    async def queue_stats(self) -> list[QueueStats]:
        """Per-queue counts by state, the age of the oldest due job and the pause flag; configured queues
        without jobs included."""
        now = self.clock.now()
        async with self.db.connect() as conn:
            counts = await admin_store.counts(conn)
            oldest = await admin_store.oldest_due(conn, now)
            paused = await admin_store.paused_queues(conn)
        configured = {spec.name: spec.concurrency for spec in self.settings.queues.values()}
        return admin.queue_stats(counts, oldest, paused, now=now, configured=configured)

    async def discarded_not_redone(self) -> dict[str, int]:
        """Discarded jobs per queue whose work was not done again since (a later job with the same unique key,
        such as a replayed dead letter's fresh dispatch, redoes it): what still needs an operator."""
        async with self.db.connect() as conn:
            discarded = await admin_store.discarded(conn)
            newest = await admin_store.newest_with_keys(conn, [key for _, _, key in discarded if key is not None])
        return admin.discarded_not_redone(discarded, newest)

    async def live_workers(self, conn: AsyncConnection | None = None) -> list[WorkerInfo]:
        """Workers that heartbeated within the lease, oldest first (read on ``conn`` when given)."""
        since = self.clock.now() - timedelta(seconds=self.settings.lease_seconds)
        if conn is not None:
            return [WorkerInfo.from_row(row) for row in await workers.alive(conn, since=since)]
        async with self.db.connect() as reader:
            return [WorkerInfo.from_row(row) for row in await workers.alive(reader, since=since)]

    async def refresh_metrics(self) -> None:
        """Set the database-derived gauges (queue depth by state, oldest age, paused, workers alive), and keep
        the statistics as :attr:`last_queue_stats` for the admin overview, which shows the same counts."""
        all_stats = await self.queue_stats()
        self.last_queue_stats = all_stats
        for stats in all_stats:
            for state in admin.STATES:
                metrics.queue_jobs.labels(queue=stats.name, state=state).set(getattr(stats, state))
            metrics.queue_oldest_available_age_seconds.labels(queue=stats.name).set(stats.oldest_available_age_s)
            metrics.queue_paused.labels(queue=stats.name).set(1 if stats.paused else 0)
        metrics.workers_alive.set(len(await self.live_workers()))

    # -- operator actions (audited) -------------------------------------------------------------------------

    async def retry(self, job_ids: Sequence[int], *, actor: str) -> int:
        """Put discarded, cancelled, retryable or scheduled jobs back to ``available`` now; how many moved.

        Audited when at least one moved. A retry that moves nothing (every job running, waiting or finished) is
        refused and leaves no line, as a refused cancel, replay, mail retry or re-arm leaves none: the trail
        says what operators changed, and the admin page's ``changed: 0`` lines only said that a retry was
        turned down."""
        now = self.clock.now()
        async with self.db.begin() as conn:
            changed = await admin_store.make_available(conn, job_ids, from_states=RETRYABLE_BY_OPERATOR, now=now)
            if changed:
                await audit.record(
                    conn,
                    at=now,
                    actor=actor,
                    action="jobs.retry",
                    subject=None,
                    details={"job_ids": list(job_ids[:1000]), "requested": len(job_ids), "changed": changed},
                )
        return changed

    async def cancel(self, job_id: int, *, actor: str, reason: str) -> bool:
        """Cancel a job that has not finished and is not running; False when there is none such."""
        now = self.clock.now()
        async with self.db.begin() as conn:
            done = await admin_store.cancel(conn, job_id, now=now, reason=reason)
            if done:
                await audit.record(
                    conn, at=now, actor=actor, action="jobs.cancel", subject=f"job:{job_id}", details={"reason": reason}
                )
        return done

    async def pause(self, queue: str, *, actor: str) -> str:
        """Pause queue ``queue`` (a key or a stored name) for every worker at once; its stored name."""
        return await self._set_paused(queue, True, actor)

    async def resume(self, queue: str, *, actor: str) -> str:
        """Resume a paused queue; its stored name."""
        return await self._set_paused(queue, False, actor)

    async def pause_queues(self, conn: AsyncConnection, queues: Iterable[str], *, actor: str) -> list[str]:
        """Pause those of ``queues`` (keys or stored names) not paused yet, in the caller's transaction, each
        audited; the stored names this call paused (a queue already paused is left as its pauser left it)."""
        now = self.clock.now()
        paused = await admin_store.pause_running(conn, [self.queue_name(q) for q in queues], now=now, by=actor)
        for name in paused:
            await audit.record(conn, at=now, actor=actor, action="queues.pause", subject=f"queue:{name}", details={})
        return paused

    async def resume_queues(
        self, conn: AsyncConnection, queues: Iterable[str] | None, *, actor: str, paused_by: str | None = None
    ) -> list[str]:
        """Resume those of ``queues`` (None: of every queue) that are paused — given ``paused_by``, only those it
        paused last — in the caller's transaction, each audited; the stored names this call resumed."""
        now = self.clock.now()
        names = None if queues is None else [self.queue_name(q) for q in queues]
        resumed = await admin_store.resume_paused(conn, names, now=now, by=actor, paused_by=paused_by)
        for name in resumed:
            await audit.record(conn, at=now, actor=actor, action="queues.resume", subject=f"queue:{name}", details={})
        return resumed

    async def _set_paused(self, queue: str, paused: bool, actor: str) -> str:
        name, now = self.queue_name(queue), self.clock.now()
        async with self.db.begin() as conn:
            await admin_store.set_paused(conn, name, paused, now=now, by=actor)
            await audit.record(
                conn,
                at=now,
                actor=actor,
                action="queues.pause" if paused else "queues.resume",
                subject=f"queue:{name}",
                details={},
            )
        return name

    async def known_queues(self) -> list[str]:
        """Every queue a job could run on now: the configured ones, those holding jobs that may still run,
        and those with a pause row (sorted)."""
        async with self.db.read() as conn:
            found = await admin_store.queues_with_work(conn) | await admin_store.queue_names(conn)
        return sorted(found | {spec.name for spec in self.settings.queues.values()})

    async def paused_queues(self, conn: AsyncConnection | None = None) -> set[str]:
        """The queues paused now (read on ``conn``, in the caller's transaction, when given)."""
        if conn is not None:
            return await admin_store.paused_queues(conn)
        async with self.db.read() as reader:
            return await admin_store.paused_queues(reader)

    async def hurry(self, conn: AsyncConnection, unique_keys: Sequence[str]) -> int:
        """Bring the waiting retries (or scheduled runs) of the jobs with these unique keys forward to now, in
        the caller's transaction; how many moved. Webhook replay uses this for events already retrying."""
        waiting = (JobState.RETRYABLE, JobState.SCHEDULED)
        job_ids = await admin_store.waiting_with_keys(conn, unique_keys, waiting)
        if not job_ids:
            return 0
        return await admin_store.make_available(conn, job_ids, from_states=waiting, now=self.clock.now())

    # -- running inline (tests, one-shot draining) ----------------------------------------------------------

    async def due_queues(self) -> list[str]:
        """The queues holding a job due now."""
        async with self.db.connect() as conn:
            return await runs.due_queues(conn, self.clock.now())

    async def drain(
        self, queues: Sequence[str] | None = None, *, app: Any = None, max_rounds: int = 100
    ) -> Counter[str]:
        """Run due jobs of ``queues`` (default: every queue that has any) until none is due, as a worker would
        (same claim, same outcome rules, same hooks); the count of runs per outcome (``completed``,
        ``retryable``, ``discarded``, ``cancelled``, ``snoozed``). Jobs a run enqueues run too when due now;
        retries scheduled for later are not waited for."""
        from remit.jobs.worker import Worker

        worker = Worker(self, app=app, queues=queues, worker_id="remit-drain", lead=False, listen=False)
        await worker.heartbeat()
        for _ in range(max_rounds):
            names = list(queues) if queues else await self.due_queues()
            if not names or await worker.run_due(names) == 0:
                break
        return worker.outcomes


__all__ = ["RETRYABLE_BY_OPERATOR", "SCHEDULER_LEADERSHIP", "Engine", "QueueStats", "WorkerInfo"]
