"""What the overview page shows, read in one pass: queues, webhook events by status, workers, switches, and
the newest operator actions.

Parts built elsewhere add their own rows to the overview as they land (stuck provisioning, failed meter
rows); this module reads only tables that exist on every remit database.
"""

from __future__ import annotations

from dataclasses import dataclass

from remit import audit
from remit.flags import Switches, read_switches
from remit.jobs.admin import QueueStats, WorkerInfo
from remit.runtime import Runtime
from remit.webhooks.dead_letters import count_by_status
from remit.webhooks.events import EventStatus

#: The webhook statuses the overview counts (never ``processed``: most of the table, and nothing to do).
WATCHED = tuple(status for status in EventStatus if status is not EventStatus.PROCESSED)


@dataclass(frozen=True, slots=True)
class Overview:
    queues: list[QueueStats]
    events_by_status: dict[str, int]
    workers: list[WorkerInfo]
    switches: Switches
    recent_actions: list[audit.AuditEntry]

    @property
    def dead_letters(self) -> int:
        return self.events_by_status.get("dead", 0)

    @property
    def paused_queues(self) -> list[str]:
        return [q.name for q in self.queues if q.paused]


async def read_overview(runtime: Runtime) -> Overview:
    queues = await runtime.engine.queue_stats()
    async with runtime.db.connect() as conn:
        by_status = await count_by_status(conn, WATCHED)
        workers = await runtime.engine.live_workers(conn)
        switches = await read_switches(conn, runtime.settings)
        actions = await audit.recent(conn, limit=10)
    return Overview(queues, by_status, workers, switches, actions)


__all__ = ["Overview", "read_overview"]
