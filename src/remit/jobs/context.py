"""What a running job is given: its record, the runtime, and ways to signal or report progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

import sqlalchemy as sa

from remit.db.tables import jobs
from remit.jobs.definition import Cancel, Discard, Snooze
from remit.jobs.records import Job
from remit.jobs.states import JobState

if TYPE_CHECKING:
    from remit.clock import Clock
    from remit.db.engine import Database
    from remit.runtime import Runtime


@dataclass(frozen=True)
class JobContext:
    job: Job
    runtime: Runtime
    worker_id: str

    @property
    def db(self) -> Database:
        return self.runtime.db

    @property
    def clock(self) -> Clock:
        return self.runtime.clock

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
        meta = {**self.job.meta, "progress": {"done": done, "total": total, "at": self.clock.now().isoformat()}}
        async with self.db.begin() as conn:
            await conn.execute(
                sa.update(jobs)
                .where(
                    jobs.c.id == self.job.id,
                    jobs.c.attempt == self.job.attempt,
                    jobs.c.state == JobState.EXECUTING.value,
                )
                .values(meta=meta)
            )
