"""Leadership held in the database: one worker process among many runs cron and maintenance.

A leader holds a row in ``remit_leaders`` with an expiry it keeps pushing forward. Acquiring is one upsert
that only succeeds when the row is free, expired or already ours, so two processes can never both believe
they lead past the expiry; when a leader dies its row expires and the next process to try takes over.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db import dialect
from remit.db.tables import leaders

CRON_LEADERSHIP = "scheduler"


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
