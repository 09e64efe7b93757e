"""Presence and leadership: worker heartbeats in ``remit_workers``, leadership in ``remit_leaders``.

A worker's row is fresh while it heartbeats; its executing jobs are safe from rescue meanwhile. A leader holds
a row in ``remit_leaders`` with an expiry it keeps pushing forward. Acquiring is one upsert that only succeeds
when the row is free, expired or already ours, so two processes can never both believe they lead past the
expiry; when a leader dies its row expires and the next process to try takes over.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db import dialect
from remit.db.tables import leaders, workers


async def heartbeat(
    conn: AsyncConnection,
    *,
    worker_id: str,
    host: str,
    pid: int,
    queues: list[str],
    now: datetime,
    running: list[int] | None = None,
    running_as_of: datetime | None = None,
) -> None:
    """Insert or refresh this worker's row, with the runs it holds (``running``, complete for runs claimed
    before ``running_as_of``) when it says."""
    held = {"running": sorted(running), "running_as_of": running_as_of} if running is not None else {}
    stmt = dialect.insert(conn, workers).values(
        id=worker_id, host=host, pid=pid, queues=queues, started_at=now, heartbeat_at=now, **held
    )
    stmt = stmt.on_conflict_do_update(index_elements=[workers.c.id], set_={"heartbeat_at": now, **held})
    await conn.execute(stmt)


async def deregister(conn: AsyncConnection, worker_id: str) -> None:
    await conn.execute(sa.delete(workers).where(workers.c.id == worker_id))


async def forget_dead(conn: AsyncConnection, *, before: datetime) -> int:
    """Delete the rows of workers silent since before ``before``."""
    return int((await conn.execute(sa.delete(workers).where(workers.c.heartbeat_at < before))).rowcount)


async def alive(conn: AsyncConnection, *, since: datetime) -> list[dict[str, Any]]:
    """The rows of workers that heartbeated at or after ``since``, oldest first."""
    stmt = sa.select(workers).where(workers.c.heartbeat_at >= since).order_by(workers.c.started_at)
    return [dict(row) for row in (await conn.execute(stmt)).mappings()]


def alive_ids(since: datetime) -> Any:
    """A subquery of the ids of workers alive since ``since`` (rescue's guard)."""
    return sa.select(workers.c.id).where(workers.c.heartbeat_at >= since)


async def try_lead(conn: AsyncConnection, *, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or extend leadership ``name`` for ``holder`` until ``now + ttl``; True when we hold it."""
    stmt = dialect.insert(conn, leaders).values(name=name, holder=holder, expires_at=now + ttl)
    upsert = stmt.on_conflict_do_update(
        index_elements=[leaders.c.name],
        set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
        where=sa.or_(leaders.c.holder == holder, leaders.c.expires_at < now),
    ).returning(leaders.c.holder)
    row = (await conn.execute(upsert)).first()
    return row is not None and row[0] == holder


async def resign(conn: AsyncConnection, *, name: str, holder: str) -> None:
    """Give leadership up at once (graceful shutdown), so the next process need not wait for expiry."""
    await conn.execute(sa.delete(leaders).where(leaders.c.name == name, leaders.c.holder == holder))


__all__ = ["alive", "alive_ids", "deregister", "forget_dead", "heartbeat", "resign", "try_lead"]
