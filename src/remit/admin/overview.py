"""What the overview page shows: queues, webhook events by status, stuck provisioning, failed meter rows,
workers, switches, the newest ops events (:mod:`remit.control.recent`) and the newest operator actions.

Reading it takes a dozen statements, each a round trip that a busy machine stretches to tens of milliseconds,
and its queue counts read the whole jobs table. So each process reads it in the background while it is being
viewed (a :class:`~remit.telemetry.refresher.Refresher`, at most every ``REMIT_ADMIN_REFRESH_SECONDS``) and a
view renders the last reading, whose age the page shows: the first view (or one after a pause in viewing)
reads in the request. The queue counts are the ones ``GET /metrics`` serves, from the runtime's metrics
refresher (at most ``REMIT_METRICS_REFRESH_SECONDS`` old); the paused flags are read with the rest. Every
other count comes from an index that covers exactly what it counts.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

from remit import audit
from remit.control.recent import RecentOpsEvent, recent
from remit.flags import Switches, read_switches
from remit.jobs.admin import QueueStats, WorkerInfo
from remit.provisioning import jobs_table
from remit.runtime import Runtime
from remit.telemetry.refresher import Refresher
from remit.usage.records import MeterEventState, count_in_state
from remit.webhooks.dead_letters import count_by_status
from remit.webhooks.events import EventStatus

#: The webhook statuses the overview counts (never ``processed``: most of the table, and nothing to do).
WATCHED = tuple(status for status in EventStatus if status is not EventStatus.PROCESSED)


@dataclass(frozen=True, slots=True)
class Overview:
    queues: list[QueueStats]
    #: Seconds the queue counts were old when this overview was read (None: read for it).
    queues_age_s: float | None
    events_by_status: dict[str, int]
    provisioning_stuck: int
    meter_failed: int
    workers: list[WorkerInfo]
    switches: Switches
    recent_actions: list[audit.AuditEntry]
    recent_events: list[RecentOpsEvent] = field(default_factory=list)
    #: When it was read (``time.monotonic()``), for the age the page shows.
    read_at: float = field(default_factory=time.monotonic)

    def age_s(self, now: float | None = None) -> float:
        return max(0.0, (time.monotonic() if now is None else now) - self.read_at)

    @property
    def dead_letters(self) -> int:
        return self.events_by_status.get("dead", 0)

    @property
    def paused_queues(self) -> list[str]:
        return [q.name for q in self.queues if q.paused]


def with_paused(stats: list[QueueStats], paused: set[str]) -> list[QueueStats]:
    """``stats`` with each queue's paused flag taken from ``paused`` (pure); a paused queue missing from
    ``stats`` (paused since the counts were read) is added with no counts."""
    named = {q.name for q in stats}
    updated = [dataclasses.replace(q, paused=q.name in paused) for q in stats]
    updated += [QueueStats(name=name, paused=True) for name in sorted(paused - named)]
    return sorted(updated, key=lambda q: q.name)


async def collect_overview(runtime: Runtime) -> Overview:
    """Read the overview now (the queue counts from the metrics refresher)."""
    settings = runtime.settings
    await runtime.metrics_refresher.fresh()
    stats, age = runtime.engine.last_queue_stats, runtime.metrics_refresher.age()
    if stats is None:  # the job collector failed in the background: count for this overview
        stats, age = await runtime.engine.queue_stats(), None
    async with runtime.db.read() as conn:
        paused = await runtime.engine.paused_queues(conn)
        by_status = await count_by_status(conn, WATCHED)
        stuck = await jobs_table.count_stuck(
            conn,
            runtime.clock.now(),
            stuck_seconds=settings.provisioning_stuck_seconds,
            max_attempts=settings.provisioning_max_attempts,
        )
        meter_failed = await count_in_state(conn, MeterEventState.FAILED)
        workers = await runtime.engine.live_workers(conn)
        switches = await read_switches(conn, settings)
        actions = await audit.recent(conn, limit=10)
        events = await recent(conn, limit=10)
    return Overview(with_paused(stats, paused), age, by_status, stuck, meter_failed, workers, switches, actions, events)


@dataclass
class OverviewReader:
    """One process's overview, read in the background while it is viewed (see the module docs)."""

    runtime: Runtime
    latest: Overview | None = None
    refresher: Refresher = field(init=False)

    def __post_init__(self) -> None:
        self.refresher = Refresher(self._collect, interval=self.runtime.settings.admin_refresh_seconds)
        self.runtime.closers.append(self.refresher.close)

    async def _collect(self) -> None:
        self.latest = await collect_overview(self.runtime)

    async def read(self) -> Overview:
        await self.refresher.fresh()
        if self.latest is None:  # only when a collection failed and raised to this caller
            self.latest = await collect_overview(self.runtime)
        return self.latest


READER_KEY = "admin.overview"


async def read_overview(runtime: Runtime) -> Overview:
    """The overview as of at most ``REMIT_ADMIN_REFRESH_SECONDS`` ago (read now on a first view)."""
    reader = runtime.extensions.get(READER_KEY)
    if not isinstance(reader, OverviewReader):
        reader = OverviewReader(runtime)
        runtime.extensions[READER_KEY] = reader
    return await reader.read()


__all__ = ["READER_KEY", "WATCHED", "Overview", "OverviewReader", "collect_overview", "read_overview", "with_paused"]
