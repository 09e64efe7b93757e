"""Live job progress: what a job reported (``ctx.progress(done, total)``) and following it as it moves.

A run's progress is kept in its row (``meta.progress``), written by :meth:`Engine.record_progress`; on
PostgreSQL the same transaction sends the job's id on the ``remit_job_progress`` channel, and so does the
transaction that ends a run that reported progress. :func:`follow` yields a :class:`Progress` snapshot
whenever the job changed, until it finished: woken by those notifications on PostgreSQL (one listening
connection per process, however many follow, through :class:`ProgressFeed`), by polling on SQLite, and on both
by a poll every ``REMIT_JOB_POLL_INTERVAL`` for what sends no notification (a job that never reported
progress, an operator's retry or cancel). ``remit jobs follow ID`` and ``GET /api/v1/jobs/{id}/progress``
(server-sent events) are its two readers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from remit.errors import JobError
from remit.jobs.notifier import PROGRESS_CHANNEL, Listener
from remit.jobs.records import Job
from remit.jobs.states import FINISHED

if TYPE_CHECKING:
    from remit.jobs.engine import Engine


@dataclass(frozen=True, slots=True)
class Progress:
    """A job at one moment, as a follower sees it: its state, its attempt and how far its run got."""

    id: int
    name: str
    queue: str
    state: str
    attempt: int
    max_attempts: int
    done: int | None
    total: int | None
    updated_at: str | None

    @classmethod
    def of(cls, job: Job) -> Progress:
        reported = job.meta.get("progress") or {}
        done, total = reported.get("done"), reported.get("total")
        return cls(
            id=job.id,
            name=job.name,
            queue=job.queue,
            state=job.state.value,
            attempt=job.attempt,
            max_attempts=job.max_attempts,
            done=int(done) if isinstance(done, int) else None,
            total=int(total) if isinstance(total, int) else None,
            updated_at=str(reported["at"]) if reported.get("at") else None,
        )

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def fraction(self) -> float | None:
        """``done / total`` in [0, 1], when a total was reported."""
        if self.done is None or not self.total:
            return None
        return min(1.0, max(0.0, self.done / self.total))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "queue": self.queue,
            "state": self.state,
            "attempt": self.attempt,
            "max_attempts": self.max_attempts,
            "done": self.done,
            "total": self.total,
            "fraction": self.fraction,
            "updated_at": self.updated_at,
            "finished": self.finished,
        }


class JobNotFound(JobError):
    """No job has this id (never enqueued, or pruned since it finished)."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"no job has id {job_id}")
        self.job_id = job_id


class ProgressFeed:
    """One LISTEN connection on ``remit_job_progress`` for a process, waking the followers of each job.

    It connects when the first follower subscribes and closes when the last one leaves, so a process nobody
    follows from holds no connection for it."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._followers: dict[int, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self.listener: Listener | None = None

    def subscribe(self, job_id: int) -> asyncio.Event:
        event = asyncio.Event()
        self._followers.setdefault(job_id, set()).add(event)
        if self._task is None:
            self.listener = Listener(self._url, self._wake, channel=PROGRESS_CHANNEL)
            self._task = asyncio.create_task(self.listener.run())
        return event

    async def unsubscribe(self, job_id: int, event: asyncio.Event) -> None:
        waiting = self._followers.get(job_id)
        if waiting is not None:
            waiting.discard(event)
            if not waiting:
                del self._followers[job_id]
        if not self._followers and self._task is not None:
            task, self._task, self.listener = self._task, None, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _wake(self, payload: str | None) -> None:
        if payload is None:  # (re)connected: anything may have been missed
            targets = [event for events in self._followers.values() for event in events]
        else:
            try:
                targets = list(self._followers.get(int(payload), ()))
            except ValueError:
                return
        for event in targets:
            event.set()


async def follow(engine: Engine, job_id: int, *, poll: float | None = None) -> AsyncIterator[Progress]:
    """Yield job ``job_id``'s progress now and on every change until it finished (then its last state);
    :class:`JobNotFound` when there is no such job. ``poll``: seconds between reads when nothing
    woke the follower (default ``REMIT_JOB_POLL_INTERVAL``, a fifth of it on SQLite, which has no NOTIFY)."""
    feed = engine.progress_feed
    interval = poll if poll is not None else engine.settings.poll_interval / (1 if feed else 5)
    event = feed.subscribe(job_id) if feed is not None else None  # before the first read: nothing is missed
    last: Progress | None = None
    try:
        while True:
            if event is not None:
                event.clear()
            job = await engine.get(job_id)
            if job is None:
                raise JobNotFound(job_id)
            now = Progress.of(job)
            if now != last:
                yield now
                last = now
            if now.finished:
                return
            if event is None:
                await asyncio.sleep(interval)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), interval)
    finally:
        if feed is not None and event is not None:
            await feed.unsubscribe(job_id, event)


__all__ = ["JobNotFound", "Progress", "ProgressFeed", "follow"]
