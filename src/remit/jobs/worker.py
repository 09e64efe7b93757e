"""The worker: claim jobs in batches, run them, record outcomes in batches.

One worker process serves any number of queues. For each queue a fetch loop claims up to the free
concurrency in one statement and starts one task per job; async job functions run on the event loop, plain
ones in a thread. Completions — the common case — are gathered and written by one completer task in a single
guarded UPDATE per batch, so throughput is not bound by one commit per job. Every other outcome (retry,
discard with its hooks — after the last attempt or on :class:`~remit.jobs.signals.Discard` — snooze,
cancel) is written at once in its own transaction.

An outcome is never dropped because its write failed (the database went away, a connection was killed):
completions stay in the batch and every other outcome waits in a list that a settler task retries with
backoff until it is written, as Oban's executor retries its acks. Meanwhile the worker still holds the run: it
names every run it holds (running, or with an outcome to write) in its heartbeat, so rescue leaves those
alone and returns any other run claimed for it — a claim that committed while the worker saw its connection
fail — although the worker is alive.

The same process heartbeats (its jobs are safe from rescue while it does), listens for NOTIFY on PostgreSQL,
and competes for leadership; every leader tick it asks the engine's scheduler for the periodic work due (all
of it as leader: cron entries, rescue, pruning, the parts' tasks; otherwise only every-process tasks).

The worker talks to the job engine only (:class:`~remit.jobs.engine.Engine`). What a job function needs of
the application (the processor, the settings) it finds in ``ctx.app``: whatever the worker was given as
``app`` — remit's runtime, when ``remit worker`` or ``remit up`` runs it.

Shutdown (SIGTERM, :meth:`Worker.request_stop`): stop claiming, give running jobs the grace period, then
cancel what is left and release it to the queue without spending its attempt, flush completions, resign
leadership and deregister.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from remit.config import QueueSpec
from remit.db.engine import is_unavailable_error
from remit.jobs.context import JobContext
from remit.jobs.engine import Engine
from remit.jobs.notifier import Listener
from remit.jobs.outcomes import Cancelled, Completed, Discarded, Failed, Outcome, Snoozed
from remit.jobs.records import Job, describe_error
from remit.jobs.settings import select_queues
from remit.jobs.signals import Cancel, Discard, Snooze
from remit.telemetry import metrics

log = logging.getLogger("remit.jobs")

COMPLETION_BATCH = 1000
#: Tries of an outcome write that failed for another reason than the database being away, before the worker
#: lets the run go (rescue then returns it to its queue as a lost run).
SETTLE_TRIES = 10
#: At shutdown, tries of the outcomes still to write before the worker leaves them to rescue.
FINAL_TRIES = 5
#: At most this many claims of one queue in flight at once (see :meth:`Worker._fetchers`).
MAX_CLAIMS_IN_FLIGHT = 4


class JobTimeout(Exception):
    """A job ran past its timeout."""


@dataclass
class _Queue:
    spec: QueueSpec
    running: int = 0
    #: Slots reserved by claims in flight: a claim never takes more than the concurrency left.
    claiming: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    slot_freed: asyncio.Event = field(default_factory=asyncio.Event)


class Worker:
    """Runs jobs of the chosen queues until :meth:`request_stop`; ``app`` is what job contexts carry."""

    def __init__(
        self,
        engine: Engine,
        *,
        app: Any = None,
        queues: Sequence[str] | None = None,
        worker_id: str | None = None,
        lead: bool = True,
        listen: bool = True,
    ) -> None:
        self.engine = engine
        self.app = app
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        settings = engine.settings
        self._queues = {spec.name: _Queue(spec) for spec in select_queues(settings.queues, queues)}
        self._lead = lead
        self._listen = listen and engine.db.is_postgres
        # Without NOTIFY (SQLite) polling is the only wake-up, so it runs five times as often.
        self._poll = settings.poll_interval if self._listen else settings.poll_interval / 5
        self._batch = settings.batch_size
        # SQLite has one writer at a time, and a connection that finds the lock taken sleeps in steps of up to
        # 100 ms before it tries again: this worker's claims and completions take turns here instead.
        self._single_writer = asyncio.Lock() if engine.db.is_sqlite else None
        self._stopping = False
        self._stop = asyncio.Event()
        self._tasks: dict[asyncio.Task[None], Job] = {}
        self._to_release: list[tuple[int, int]] = []
        self._completions: list[Job] = []
        self._completion_ready = asyncio.Event()
        self._unsettled: list[tuple[Job, Outcome, int]] = []  # (run, outcome, failed writes other than "away")
        self._settle_ready = asyncio.Event()
        # The runs this worker holds, id → attempt: from the claim until their outcome is written (or released).
        self._held: dict[int, int] = {}
        self._claim_seq = 0
        self._claims_in_flight: dict[int, datetime] = {}  # token → when the claim began
        self._rand = random.Random()
        self.outcomes: Counter[str] = Counter()
        self._run_timers: dict[str, Any] = {}
        self.is_leader = False
        self.listener: Listener | None = None

    @property
    def queue_names(self) -> list[str]:
        return list(self._queues)

    def request_stop(self) -> None:
        """Begin a graceful shutdown (safe to call from a signal handler on the loop)."""
        self._stopping = True
        self._stop.set()
        for queue in self._queues.values():
            queue.wake.set()
            queue.slot_freed.set()

    def wake(self, queue: str | None = None) -> None:
        """Claim now instead of at the next poll (``None``: every queue)."""
        targets = self._queues.values() if queue is None else [q for n, q in self._queues.items() if n == queue]
        for target in targets:
            target.wake.set()

    async def run_due(self, queue_names: Sequence[str] | None = None) -> int:
        """Claim and run, to their outcome, every job due now in ``queue_names`` (default: this worker's
        queues), one batch after another; returns how many ran. For tests and one-shot draining."""
        ran = 0
        for name in queue_names or self.queue_names:
            queue = self._queues.get(name) or _Queue(QueueSpec(name, name, self._batch))
            while True:
                batch = await self._claim(name, self._batch)
                if not batch:
                    break
                for job in batch:
                    queue.running += 1
                    await self._execute(job, queue)
                await self._flush_completions(final=True)
                await self._flush_unsettled(final=True)
                ran += len(batch)
        return ran

    async def run(self) -> None:
        """Serve until stopped; returns after the graceful shutdown completed."""
        await self.heartbeat()
        background = [
            asyncio.create_task(self._heartbeat_loop()),
            asyncio.create_task(self._completer()),
            asyncio.create_task(self._settler()),
            asyncio.create_task(self._scheduler_loop()),
        ]
        if self._listen:
            self.listener = Listener(self.engine.db.url, self.wake)
            background.append(asyncio.create_task(self.listener.run()))
        fetchers = [
            asyncio.create_task(self._fetch_loop(q)) for q in self._queues.values() for _ in range(self._fetchers(q))
        ]
        log.info("worker started", extra={"worker_id": self.id, "queues": self.queue_names})
        try:
            await self._stop.wait()
        finally:
            self.request_stop()
            await asyncio.gather(*fetchers, return_exceptions=True)
            await self._drain_running()
            await self._flush_completions(final=True)
            await self._flush_unsettled(final=True)
            await self._release_leftovers()
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await self._sign_off()
            log.info("worker stopped", extra={"worker_id": self.id})

    # -- claiming and running -------------------------------------------------------------------------

    def _fetchers(self, queue: _Queue) -> int:
        """How many claim loops serve ``queue``: one per batch its concurrency holds, at most
        :data:`MAX_CLAIMS_IN_FLIGHT`. A claim's cost is mostly its commit, which waits for the disk; with
        several in flight on their own connections the next batch is claimed while one runs, and the
        server's group commit flushes their commits together. SQLite writes one transaction at a time: one."""
        if self._single_writer is not None:
            return 1
        return max(1, min(MAX_CLAIMS_IN_FLIGHT, -(-queue.spec.concurrency // self._batch)))

    def _writing(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """Around a claim or a completion: on SQLite, this worker's turn to write; elsewhere nothing."""
        return self._single_writer if self._single_writer is not None else contextlib.nullcontext()

    async def _fetch_loop(self, queue: _Queue) -> None:
        failures = 0
        while not self._stopping:
            free = queue.spec.concurrency - queue.running - queue.claiming
            if free <= 0:
                queue.slot_freed.clear()
                await queue.slot_freed.wait()
                continue
            wanted = min(free, self._batch)
            queue.wake.clear()
            queue.claiming += wanted
            finished: list[Job] = []
            try:
                async with self._writing():
                    if self._single_writer is not None:  # one commit for the completions so far and the claim
                        finished = self._completions[:COMPLETION_BATCH]
                        del self._completions[:COMPLETION_BATCH]
                    batch = await self._claim(queue.spec.name, wanted, finished=[(j.id, j.attempt) for j in finished])
                failures = 0
            except Exception as exc:
                self._completions[:0] = finished
                failures += 1
                self._log_db_error("claim", exc)
                await self._pause(min(0.2 * 2**failures, 5.0))
                continue
            finally:
                queue.claiming -= wanted
            self._count_completed(finished)
            for job in batch:
                self._start(job, queue)
            if len(batch) < wanted:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(queue.wake.wait(), self._poll)

    async def _claim(self, queue: str, limit: int, *, finished: Sequence[tuple[int, int]] = ()) -> list[Job]:
        """Claim up to ``limit`` jobs, holding them from the moment the claim returns.

        While the claim is in flight the heartbeat's list of held runs is complete only for runs claimed before
        it began: were the claim to commit and its answer be lost, rescue must not take its jobs before the
        next heartbeat says this worker does not hold them.
        """
        self._claim_seq += 1
        token = self._claim_seq
        self._claims_in_flight[token] = self.engine.clock.now()
        try:
            batch = await self.engine.claim(queue, limit=limit, worker_id=self.id, finished=list(finished))
        finally:
            del self._claims_in_flight[token]
        for job in batch:
            self._held[job.id] = job.attempt
        return batch

    def _start(self, job: Job, queue: _Queue) -> None:
        queue.running += 1
        task = asyncio.create_task(self._execute(job, queue))
        self._tasks[task] = job
        task.add_done_callback(self._tasks.pop)

    async def _execute(self, job: Job, queue: _Queue) -> None:
        started = time.perf_counter()
        try:
            outcome = await self._run_job(job)
        except asyncio.CancelledError:
            self._to_release.append((job.id, job.attempt))  # shutdown ran past the grace period
            return
        finally:
            queue.running -= 1
            queue.slot_freed.set()
        timer = self._run_timers.get(job.queue)
        if timer is None:
            timer = self._run_timers[job.queue] = metrics.job_run_seconds.labels(queue=job.queue)
        timer.observe(time.perf_counter() - started)
        if isinstance(outcome, Completed):
            self._completions.append(job)
            self._completion_ready.set()
            return
        await self._settle(job, outcome)

    async def _run_job(self, job: Job) -> Outcome:
        now = self.engine.clock.now
        try:
            definition = self.engine.registry.get(job.name)
            ctx = JobContext(job=job, engine=self.engine, app=self.app, worker_id=self.id)
            if definition.is_async:
                call = definition.func(ctx, **job.args)
            else:
                call = asyncio.to_thread(definition.func, ctx, **job.args)
            if job.timeout:
                try:
                    async with asyncio.timeout(job.timeout) as limit:
                        await call
                except TimeoutError:
                    if limit.expired():
                        raise JobTimeout(f"timed out after {job.timeout:g}s") from None
                    raise
            else:
                await call
            return Completed()
        except Snooze as signal:
            return Snoozed(signal.seconds, signal.reason)
        except Cancel as signal:
            return Cancelled(signal.reason)
        except Discard as signal:
            return Discarded(describe_error(signal, job.attempt, now()))
        except Exception as exc:
            return Failed(describe_error(exc, job.attempt, now()))

    async def _settle(self, job: Job, outcome: Outcome, failures: int = 0) -> bool:
        """Write a run's outcome (other than completion); True when the worker is done with it (written,
        rejected as stale, or given up after :data:`SETTLE_TRIES` failures that were not the database being
        away). Otherwise the outcome joins the list the settler retries, and False."""
        try:
            decided = await self.engine.settle(job, outcome, rand=self._rand.random())
        except Exception as exc:
            self._log_db_error("record outcome", exc)
            if not is_unavailable_error(exc):
                failures += 1
                if failures >= SETTLE_TRIES:
                    log.error(
                        "gave up writing a job's outcome; rescue returns the run to its queue",
                        extra={"job_id": job.id, "attempt": job.attempt},
                    )
                    self._let_go(job)
                    return True
            self._unsettled.append((job, outcome, failures))
            self._settle_ready.set()
            return False
        self._let_go(job)
        if decided is not None:
            self.outcomes[decided.label] += 1
        return True

    def _let_go(self, job: Job) -> None:
        if self._held.get(job.id) == job.attempt:
            del self._held[job.id]

    # -- outcomes whose write failed ------------------------------------------------------------------

    async def _settler(self) -> None:
        while True:
            await self._settle_ready.wait()
            self._settle_ready.clear()
            await self._flush_unsettled()

    async def _flush_unsettled(self, *, final: bool = False) -> None:
        """Write the outcomes still waiting, oldest first, with backoff while writes fail; at shutdown
        (``final``) give up after :data:`FINAL_TRIES` rounds and leave the runs to rescue."""
        rounds = 0
        while self._unsettled:
            waiting, self._unsettled = self._unsettled, []
            for index, (job, outcome, failures) in enumerate(waiting):
                if not await self._settle(job, outcome, failures):
                    self._unsettled.extend(waiting[index + 1 :])  # the database is still away: wait, then retry
                    break
            if not self._unsettled:
                break
            rounds += 1
            if final and rounds >= FINAL_TRIES:
                log.warning(
                    "outcomes not written at shutdown; rescue returns the runs", extra={"count": len(self._unsettled)}
                )
                return
            await asyncio.sleep(min(0.2 * 2**rounds, 5.0))

    # -- completions ----------------------------------------------------------------------------------

    async def _completer(self) -> None:
        while True:
            await self._completion_ready.wait()
            self._completion_ready.clear()
            await self._flush_completions()

    async def _flush_completions(self, *, final: bool = False) -> None:
        failures = 0
        while self._completions:
            batch = self._completions[:COMPLETION_BATCH]
            del self._completions[:COMPLETION_BATCH]
            try:
                async with self._writing():
                    await self.engine.complete([(j.id, j.attempt) for j in batch])
            except Exception as exc:
                self._completions[:0] = batch
                failures += 1
                self._log_db_error("complete", exc)
                if final and failures >= 5:
                    return  # the runs stay executing; rescue returns them after the lease
                await asyncio.sleep(min(0.2 * 2**failures, 5.0))
                continue
            self._count_completed(batch)

    def _count_completed(self, batch: Sequence[Job]) -> None:
        """Count completions once their write committed, and let their runs go."""
        for job in batch:
            self._let_go(job)
        if batch:
            self.outcomes["completed"] += len(batch)
            for queue, n in Counter(job.queue for job in batch).items():
                metrics.jobs_executed_total.labels(queue=queue, outcome="completed").inc(n)

    # -- shutdown -------------------------------------------------------------------------------------

    async def _drain_running(self) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=self.engine.settings.shutdown_grace)
        leftover = list(self._tasks)
        for task in leftover:
            task.cancel()
        await asyncio.gather(*leftover, return_exceptions=True)

    async def _release_leftovers(self) -> None:
        if not self._to_release:
            return
        try:
            released = await self.engine.release(self._to_release)
            for job_id, attempt in self._to_release:
                if self._held.get(job_id) == attempt:
                    del self._held[job_id]
            log.warning("released unfinished jobs at shutdown", extra={"count": released})
        except Exception as exc:
            self._log_db_error("release", exc)

    async def _sign_off(self) -> None:
        try:
            await self.engine.sign_off(self.id, resign=self.is_leader)
        except Exception as exc:
            self._log_db_error("deregister", exc)

    # -- heartbeat, leadership and the scheduler ------------------------------------------------------

    @property
    def held(self) -> dict[int, int]:
        """The runs this worker holds, id → attempt: claimed, and their outcome not written yet."""
        return dict(self._held)

    async def heartbeat(self) -> None:
        """Insert or refresh this worker's row with the runs it holds: those are safe from rescue while it is
        fresh; any other run claimed for it before this instant (and before any claim still in flight) is not
        held, and rescue returns it."""
        as_of = min([self.engine.clock.now(), *self._claims_in_flight.values()])
        await self.engine.heartbeat(
            self.id,
            host=socket.gethostname(),
            pid=os.getpid(),
            queues=self.queue_names,
            running=list(self._held),
            running_as_of=as_of,
        )

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.engine.settings.heartbeat_interval)
            try:
                await self.heartbeat()
            except Exception as exc:
                self._log_db_error("heartbeat", exc)

    async def _scheduler_loop(self) -> None:
        """Every leader tick: renew (or try for) leadership, then run or enqueue the periodic work due."""
        settings = self.engine.settings
        ttl = timedelta(seconds=settings.leader_ttl)
        while True:
            try:
                if self._lead:
                    self.is_leader = await self.engine.try_lead(self.id, ttl=ttl)
                await self.engine.fire_due(leader=self.is_leader, app=self.app)
            except Exception as exc:
                self.is_leader = False
                self._log_db_error("leader tick", exc)
            await asyncio.sleep(settings.leader_tick)

    # -- helpers --------------------------------------------------------------------------------------

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    def _log_db_error(self, action: str, exc: BaseException) -> None:
        if is_unavailable_error(exc):
            log.warning("database unavailable during %s (%s)", action, type(exc).__name__)
        else:
            log.error("worker %s failed: %s", action, type(exc).__name__, exc_info=exc)


__all__ = ["COMPLETION_BATCH", "FINAL_TRIES", "SETTLE_TRIES", "JobTimeout", "Worker", "select_queues"]
