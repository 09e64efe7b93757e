"""The runtime: the handful of long-lived things every part of a running remit shares.

One :class:`Runtime` is built at start-up (by the service, the worker, the CLI or a host) and passed down, so
nothing reaches for globals: tests build one over a throwaway database and a :class:`~remit.clock.FrozenClock`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from remit.clock import Clock, system_clock
from remit.config import Settings
from remit.db.engine import Database
from remit.jobs.definition import JobRegistry, default_registry

if TYPE_CHECKING:
    from remit.processor.base import Processor


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock = field(default=system_clock)
    registry: JobRegistry = field(default_factory=lambda: default_registry)
    processor: Processor | None = None
    #: Workers running in this process (``remit up``), woken when this process enqueued work for them, so
    #: they need not wait for their next poll (SQLite has no NOTIFY; on PostgreSQL this only saves a hop).
    job_wakers: list[Callable[[str | None], None]] = field(default_factory=list)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock = system_clock) -> Runtime:
        from remit.jobs import queues
        from remit.processor import build_processor

        queues.configure(settings.queues)
        db = Database.from_url(settings.database_url, pool_size=settings.db_pool_size)
        return cls(settings=settings, db=db, clock=clock, processor=build_processor(settings, db, clock))

    def wake_workers(self, queue: str | None = None) -> None:
        """Tell this process's workers that ``queue`` (None: any queue) has new jobs, after they committed."""
        for wake in self.job_wakers:
            wake(queue)

    async def close(self) -> None:
        if self.processor is not None:
            await self.processor.close()
        await self.db.dispose()
