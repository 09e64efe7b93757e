"""The scheduler's rows in ``remit_periodic_tasks``: ticks claimed, runs recorded.

A leader-only tick is claimed by a compare-and-set on ``last_tick``: the claimer names the value it read, so of
two processes that both believe they lead (a leader handing over) only one moves it, and only that one runs
or enqueues the tick. A task's first claim inserts its row; a second process's insert then conflicts and
claims nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db import dialect
from remit.db.tables import periodic_tasks


@dataclass(frozen=True, slots=True)
class Declared:
    """What the code declares about a scheduled thing, written on its row at each claim."""

    name: str
    kind: str
    schedule: str
    leader_only: bool
    queue: str | None


async def rows(conn: AsyncConnection) -> dict[str, dict[str, Any]]:
    """Every row, by name."""
    return {row["name"]: dict(row) for row in (await conn.execute(sa.select(periodic_tasks))).mappings()}


def _declared(item: Declared) -> dict[str, Any]:
    return {"kind": item.kind, "schedule": item.schedule, "leader_only": item.leader_only, "queue": item.queue}


async def claim(
    conn: AsyncConnection,
    item: Declared,
    *,
    seen: datetime | None,
    exists: bool,
    tick: datetime,
    next_run_at: datetime,
) -> bool:
    """Move ``item``'s ``last_tick`` from ``seen`` (what the caller read; ``exists`` whether it read a row at
    all) to ``tick``; True when this caller won the tick."""
    values = {**_declared(item), "last_tick": tick, "next_run_at": next_run_at}
    if not exists:
        insert = dialect.insert(conn, periodic_tasks).values(name=item.name, **values)
        stmt: Any = insert.on_conflict_do_nothing(index_elements=["name"])
    else:
        stmt = (
            sa.update(periodic_tasks)
            .where(periodic_tasks.c.name == item.name, periodic_tasks.c.last_tick.is_not_distinct_from(seen))
            .values(**values)
        )
    # RETURNING, not the row count: the PostgreSQL driver reports none for an INSERT … ON CONFLICT here.
    return (await conn.execute(stmt.returning(periodic_tasks.c.name))).first() is not None


async def record(conn: AsyncConnection, item: Declared, **values: Any) -> None:
    """Write ``values`` (``last_outcome``, ``last_counts`` …) on ``item``'s row, inserting it if need be."""
    row: Mapping[str, Any] = {**_declared(item), **values}
    stmt = dialect.insert(conn, periodic_tasks).values(name=item.name, **row)
    await conn.execute(stmt.on_conflict_do_update(index_elements=[periodic_tasks.c.name], set_=dict(row)))


__all__ = ["Declared", "claim", "record", "rows"]
