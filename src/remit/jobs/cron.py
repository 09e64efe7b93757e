"""Cron: jobs enqueued on a schedule by the leader, exactly once per tick.

Expressions are standard five-field cron (``*/10 * * * *``), or six fields with seconds last
(``* * * * * */5``), parsed by ``croniter``. Each entry has a row in ``remit_cron_entries`` holding the last
tick it fired for; firing moves that mark forward with a guarded UPDATE in the same transaction as the
enqueue, so even two processes that both think they lead (a leader handing over) enqueue a tick once.
After downtime an entry fires once for the latest missed tick, not once per missed tick.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from croniter import croniter
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.clock import Clock
from remit.db import dialect
from remit.db.tables import cron_entries
from remit.errors import JobError
from remit.jobs.definition import JobDefinition
from remit.jobs.enqueue import enqueue


@dataclass(frozen=True)
class CronEntry:
    name: str
    expression: str
    job: JobDefinition
    args: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not croniter.is_valid(self.expression):
            raise JobError(f"cron entry {self.name!r} has an invalid expression")

    def latest_tick(self, now: datetime) -> datetime:
        """The most recent tick at or before ``now`` (pure)."""
        itr = croniter(self.expression, now)
        if croniter.match(self.expression, now) and now.microsecond == 0:
            return now
        tick: datetime = itr.get_prev(datetime)
        return tick


class CronTable:
    """The cron entries known to this process."""

    def __init__(self) -> None:
        self._entries: dict[str, CronEntry] = {}

    def add(self, name: str, expression: str, job: JobDefinition, args: Mapping[str, Any] | None = None) -> None:
        self._entries[name] = CronEntry(name, expression, job, dict(args or {}))

    def remove(self, name: str) -> None:
        self._entries.pop(name, None)

    def entries(self) -> list[CronEntry]:
        return list(self._entries.values())


#: The entries remit's own parts and the host add to; workers fire them when they lead.
default_cron = CronTable()


def cron(name: str, expression: str, job: JobDefinition, args: Mapping[str, Any] | None = None) -> None:
    """Schedule ``job`` on ``expression`` under ``name`` (stable: it keys the last-fired mark)."""
    default_cron.add(name, expression, job, args)


async def fire_due(conn: AsyncConnection, entries: list[CronEntry], *, clock: Clock) -> list[str]:
    """Enqueue each entry whose latest tick has not fired yet; returns the names fired. Leader only."""
    now = clock.now()
    fired: list[str] = []
    for entry in entries:
        tick = entry.latest_tick(now)
        seed = dialect.insert(conn, cron_entries).values(name=entry.name, expression=entry.expression, last_tick=None)
        await conn.execute(
            seed.on_conflict_do_update(
                index_elements=[cron_entries.c.name], set_={"expression": seed.excluded.expression}
            )
        )
        advanced = await conn.execute(
            sa.update(cron_entries)
            .where(
                cron_entries.c.name == entry.name,
                sa.or_(cron_entries.c.last_tick.is_(None), cron_entries.c.last_tick < tick),
            )
            .values(last_tick=tick)
        )
        if advanced.rowcount == 1:
            meta = {"cron": entry.name, "tick": tick.isoformat()}
            await enqueue(conn, entry.job, dict(entry.args), clock=clock, meta=meta)
            fired.append(entry.name)
    return fired
