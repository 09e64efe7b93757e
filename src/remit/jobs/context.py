"""What running work is given: a job gets a :class:`JobContext`, a periodic task a :class:`PeriodicContext`.

Both carry the engine (its database and clock) and ``app``: whatever the process that runs the worker handed
it — remit's :class:`~remit.runtime.Runtime`, whose processor and settings job functions use, or a host's own
object. The engine never looks inside ``app``; that is what keeps ``jobs/`` below the runtime.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Generic, NoReturn, TypeVar

from remit.jobs.records import Job
from remit.jobs.signals import Cancel, Discard, Snooze

if TYPE_CHECKING:
    from remit.clock import Clock
    from remit.db.engine import Database
    from remit.jobs.engine import Engine

App = TypeVar("App")


@dataclass(frozen=True)
class JobContext(Generic[App]):
    """One run of one job: its record, the engine, the application, and the worker running it."""

    job: Job
    engine: Engine
    app: App
    worker_id: str

    @property
    def db(self) -> Database:
        return self.engine.db

    @property
    def clock(self) -> Clock:
        return self.engine.clock

    def snooze(self, seconds: float, reason: str = "snoozed") -> NoReturn:
        """Stop now and run again after ``seconds``, without spending an attempt."""
        raise Snooze(seconds, reason)

    def cancel(self, reason: str) -> NoReturn:
        """Stop now for good: the job is cancelled and never retried."""
        raise Cancel(reason)

    def discard(self, reason: str) -> NoReturn:
        """Give up now, without spending further attempts: the job is discarded and its discard hooks run."""
        raise Discard(reason)

    async def progress(self, done: int, total: int | None = None) -> None:
        """Record how far the job got (``done`` of ``total``); visible in ``remit jobs list`` and the API."""
        await self.engine.record_progress(self.job, done, total)


@dataclass(frozen=True)
class PeriodicContext(Generic[App]):
    """One run of one periodic task: its name, the tick it runs for, the engine and the application."""

    task: str
    tick: datetime
    engine: Engine
    app: App

    @property
    def db(self) -> Database:
        return self.engine.db

    @property
    def clock(self) -> Clock:
        return self.engine.clock


__all__ = ["App", "JobContext", "PeriodicContext"]
