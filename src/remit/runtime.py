"""The runtime: the handful of long-lived things every part of a running remit shares.

One :class:`Runtime` is built at start-up (by the service, the worker, the CLI or a host) and passed down, so
nothing reaches for globals: it composes the database, the clock, the job engine (whose registry and schedule
come from the parts), the processor, and the ordered handlers for processor events. It knows parts only as
:class:`~remit.part.Part` records handed to it: which parts, in which order, is decided above it
(:func:`remit.parts.build_runtime`, the one call that builds a full runtime). Tests build one over a throwaway
database and a :class:`~remit.clock.FrozenClock`.

A function of the public API that writes in the caller's transaction takes the caller's connection first,
then its own arguments (``report_usage(conn, customer, meter, value, operation_id=…)``,
``request_mail(conn, request)``, ``runtime.engine.enqueue(conn, job, args)``): the connection comes from the
runtime's database (``runtime.db.begin()``), which carries its runtime, and :func:`runtime_of` finds it there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from remit.clock import Clock, system_clock
from remit.config import Settings
from remit.db.engine import Database
from remit.errors import ConfigurationError, RemitError
from remit.flags import FlagCache
from remit.handlers import HandlerRegistry
from remit.jobs.definition import JobRegistry
from remit.jobs.engine import Engine
from remit.jobs.settings import JobSettings
from remit.jobs.worker import Worker
from remit.part import Part
from remit.periodic import unknown_schedules, with_schedules
from remit.telemetry import collectors
from remit.telemetry.refresher import Refresher

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from remit.processor.base import Processor

#: The execution option under which a runtime's database connections carry the runtime.
RUNTIME_OPTION = "remit_runtime"


class NoRuntime(RemitError):
    """A connection that no runtime handed out (a host's own engine): remit's API needs one of
    ``runtime.db``'s."""


@dataclass
class Runtime:
    settings: Settings
    db: Database
    engine: Engine
    processor: Processor
    clock: Clock = field(default=system_clock)
    #: Handlers for processor events, in the order dispatch runs them: remit's parts', then the host's.
    handlers: HandlerRegistry = field(default_factory=HandlerRegistry)
    #: The parts this runtime was composed from, in order.
    parts: tuple[Part, ...] = ()
    #: Workers running in this process (``remit up``), woken when this process enqueued work for them, so
    #: they need not wait for their next poll (SQLite has no NOTIFY; on PostgreSQL this only saves a hop).
    job_wakers: list[Callable[[str | None], None]] = field(default_factory=list)
    #: Long-lived objects of the parts above the runtime, by the part's key (the mail part's mailer, the
    #: documents part's PDF engine): each part builds its own on first use from :attr:`settings`, and a test
    #: or a host puts its own here first (an in-memory mailer, an engine that is unavailable).
    extensions: dict[str, object] = field(default_factory=dict)
    #: Awaited (in order) by :meth:`close` before the processor and the database go: work this runtime
    #: started in the background and must finish, such as ops events still being queued for delivery.
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    #: This process's view of the runtime flags and the emergency stop (:mod:`remit.flags`).
    flags: FlagCache = field(init=False)
    #: Runs the scrape-time collectors in the background while ``GET /metrics`` or the admin overview read
    #: them (:mod:`remit.telemetry.refresher`), at most once per ``REMIT_METRICS_REFRESH_SECONDS``.
    metrics_refresher: Refresher = field(init=False)

    def __post_init__(self) -> None:
        # Every connection of this database now carries this runtime (see runtime_of).
        self.db.bind_option(RUNTIME_OPTION, self)
        self.flags = FlagCache(self.db, self.settings, ttl=self.settings.flags_refresh_seconds)
        self.metrics_refresher = Refresher(
            lambda: collectors.collect(self), interval=self.settings.metrics_refresh_seconds
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        parts: Sequence[Part],
        clock: Clock = system_clock,
        processor: Processor | None = None,
    ) -> Runtime:
        """Compose a runtime of ``parts`` (in order) over ``settings``: nothing connects yet.

        The processor is the one ``REMIT_PROCESSOR`` names unless one is given."""
        from remit.processor import build_processor

        db = Database.from_url(settings.database_url, pool_size=settings.db_pool_size)
        engine = Engine(
            db,
            clock=clock,
            registry=JobRegistry(job for part in parts for job in part.jobs),
            settings=JobSettings.from_settings(settings),
            periodic=with_schedules([task for part in parts for task in part.periodic], settings.schedules),
            cron=[entry for part in parts for entry in part.cron],
        )
        return cls(
            settings=settings,
            db=db,
            engine=engine,
            processor=processor or build_processor(settings, db, clock),
            clock=clock,
            handlers=HandlerRegistry(handler for part in parts for handler in part.event_handlers),
            parts=tuple(parts),
        )

    def check_schedules(self) -> None:
        """Raise :class:`ConfigurationError` when ``REMIT_SCHEDULES`` names a periodic task none of this
        runtime's parts has (:func:`check_schedules`)."""
        check_schedules(self.parts, self.settings)

    def worker(self, **options: Any) -> Worker:
        """A job worker on this runtime's engine, handing this runtime to job functions as ``ctx.app``;
        ``options`` are :class:`~remit.jobs.worker.Worker`'s (``queues``, ``lead``, ``worker_id`` …).

        Refused (:meth:`check_schedules`) when ``REMIT_SCHEDULES`` names a task this runtime does not have."""
        self.check_schedules()
        return Worker(self.engine, app=self, **options)

    async def drain(self, queues: Sequence[str] | None = None, *, max_rounds: int = 100) -> Counter[str]:
        """Run every due job inline until none is due (tests, one-shot draining): see :meth:`Engine.drain`."""
        return await self.engine.drain(queues, app=self, max_rounds=max_rounds)

    def wake_workers(self, queue: str | None = None) -> None:
        """Tell this process's workers that ``queue`` (None: any queue) has new jobs, after they committed."""
        for wake in self.job_wakers:
            wake(queue)

    async def close(self) -> None:
        await self.metrics_refresher.close()
        for closer in list(self.closers):
            await closer()
        await self.processor.close()
        await self.db.dispose()


def check_schedules(parts: Sequence[Part], settings: Settings) -> None:
    """Raise :class:`ConfigurationError` when ``REMIT_SCHEDULES`` names a periodic task none of ``parts`` has.
    Only a runtime that runs the scheduler holds every task (``remit serve`` composes without the host's
    modules), so the worker and the commands that compose it all check — before composing, when they can
    (``build_runtime(runs_scheduler=True)``), so a refused runtime leaves nothing behind."""
    names = (task.name for part in parts for task in part.periodic)
    problem = unknown_schedules(names, settings.schedules)
    if problem:
        raise ConfigurationError([f"REMIT_SCHEDULES: {problem}"])


def runtime_of(conn: AsyncConnection) -> Runtime:
    """The runtime whose database opened ``conn`` (``runtime.db.begin()``, ``.connect()``, ``.read()``, a job's
    or a handler's connection); :class:`NoRuntime` for a connection of another engine."""
    runtime = conn.sync_engine.get_execution_options().get(RUNTIME_OPTION)
    if not isinstance(runtime, Runtime):
        raise NoRuntime("this needs a connection of a remit runtime's database: runtime.db.begin() or .connect()")
    return runtime
