"""The newest ops events in the database, for the admin overview: a bounded sink beside the logs, the counter,
the host's sinks and the ops webhook.

Ops events are emitted by every process (most by workers: a dead letter, a discarded job, a failed payout), so a
list kept in one process's memory would show the admin page only its own few; :func:`install_recorder` (called
by :func:`remit.parts.build_runtime`) adds a sink that writes each event's name, time and kept metadata to
``remit_ops_events``. The sink works like :class:`remit.control.forward.OpsForwarder`: ``ops.emit`` is
synchronous and may run inside another transaction, so the sink only appends to a list, and one task of the
running loop writes the list in one transaction per batch — which also deletes the rows more than :data:`KEEP`
ids behind the newest (a primary-key range), so the table stays small. A write that fails is logged (its error
type) and dropped: the list is for a glance, the log and ``remit_ops_events_total`` are the record.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db.tables import ops_events
from remit.runtime import Runtime
from remit.telemetry import ops

log = logging.getLogger("remit.ops.recent")

#: How many of the newest ops events the table keeps.
KEEP = 500
#: Where :func:`install_recorder` puts its recorder in ``runtime.extensions`` (a test flushes it).
RECORDER_KEY = "control.ops_recorder"


@dataclass(frozen=True, slots=True)
class RecentOpsEvent:
    id: int
    name: str
    emitted_at: datetime
    metadata: dict[str, Any]

    @property
    def needs_action(self) -> bool:
        """Whether its catalog entry logs it as a warning: a person must act."""
        spec = ops.CATALOG.get(self.name)
        return spec is not None and spec.level >= logging.WARNING


class OpsRecorder:
    """The sink that writes ops events to ``remit_ops_events`` (see the module docs)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._pending: list[dict[str, Any]] = []
        self._drain: asyncio.Task[None] | None = None

    def __call__(self, name: str, metadata: dict[str, Any]) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # emitted outside a loop (a synchronous host): the log and the counter have it
        self._pending.append({"name": name, "emitted_at": self.runtime.clock.now(), "metadata": dict(metadata)})
        if self._drain is None or self._drain.done():
            self._drain = loop.create_task(self._drain_pending())

    async def _drain_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                async with self.runtime.db.begin() as conn:
                    await record(conn, batch)
            except Exception as exc:
                log.warning(
                    "ops events not recorded for the admin page",
                    extra={"count": len(batch), "error_type": type(exc).__name__},
                )

    async def flush(self) -> None:
        """Wait until every event noted so far is written (the runtime's close calls this)."""
        while self._drain is not None and not self._drain.done():
            await self._drain
        if self._pending:
            await self._drain_pending()


async def record(conn: AsyncConnection, rows: list[dict[str, Any]], *, keep: int = KEEP) -> None:
    """Insert ``rows`` (name, emitted_at, metadata) and delete those more than ``keep`` ids behind the newest."""
    if not rows:
        return
    newest = None
    for row in rows:  # one by one, so the newest id is known on both dialects
        result = await conn.execute(sa.insert(ops_events).values(row).returning(ops_events.c.id))
        newest = int(result.scalar_one())
    if newest is not None:
        await conn.execute(sa.delete(ops_events).where(ops_events.c.id <= newest - keep))


async def recent(conn: AsyncConnection, *, limit: int = 10) -> list[RecentOpsEvent]:
    """The newest ``limit`` ops events, newest first."""
    stmt = sa.select(ops_events).order_by(ops_events.c.id.desc()).limit(limit)
    return [
        RecentOpsEvent(int(row["id"]), row["name"], row["emitted_at"], dict(row["metadata"] or {}))
        for row in (await conn.execute(stmt)).mappings()
    ]


def install_recorder(runtime: Runtime) -> OpsRecorder:
    """Record this runtime's ops events in the database: the sink is added now and removed, after a last flush,
    when the runtime closes."""
    recorder = OpsRecorder(runtime)
    runtime.extensions[RECORDER_KEY] = recorder
    remove = ops.add_sink(recorder)

    async def close() -> None:
        try:
            await recorder.flush()
        finally:
            remove()

    runtime.closers.append(close)
    return recorder


__all__ = ["KEEP", "RECORDER_KEY", "OpsRecorder", "RecentOpsEvent", "install_recorder", "recent", "record"]
