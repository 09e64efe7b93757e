"""The internal API's per-token rate limit: at most ``limit`` requests per ``window`` seconds, for every
process at once.

Counts live in the database (``remit_rate_limits``), not in each process: a deployment runs several
``remit serve`` processes on several hosts behind a load balancer, and a per-process counter would let a token
make N times its limit, N being however many processes the balancer happens to spread it over. The internal
API serves operators and back-office services, not the webhook hot path, so one small upsert per request is
cheap beside the query the request runs anyway. (The ``limits`` package was considered: its storages are
memory, Redis, Memcached and MongoDB, none of which remit has; adding a Redis for this would be a second
store to run.)

The algorithm is the sliding-window counter: the count of the current fixed window plus the previous window's
count weighted by how much of it still overlaps the sliding window. It needs two integers per caller, and it
never lets a burst straddling a window boundary through at twice the limit, as a plain fixed window does.
Refused requests are not counted, so a caller that backs off for ``Retry-After`` seconds is let through then.

The upsert increments only while the estimate stays under the limit (``ON CONFLICT … DO UPDATE … WHERE``), so
two processes racing for the last slot cannot both take it: the row lock decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db import dialect
from remit.db.tables.guard import rate_limits


@dataclass(frozen=True, slots=True)
class Window:
    """Where ``now`` falls: the current fixed window's number and how far into it (0 ≤ elapsed < 1)."""

    number: int
    elapsed: float

    @classmethod
    def at(cls, now: float, seconds: float) -> Window:
        position = now / seconds
        number = math.floor(position)
        return cls(number, position - number)


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a request may pass; when refused, after how many whole seconds to retry."""

    allowed: bool
    remaining: int
    retry_after: int = 0


def allowance(limit: int, previous: int, elapsed: float) -> int:
    """How many requests the current window may hold given the previous window's count (pure)."""
    return math.floor(limit - previous * (1.0 - elapsed))


def retry_after(limit: int, previous: int, current: int, elapsed: float, seconds: float) -> int:
    """Whole seconds until one more request fits (pure), at least 1.

    Within this window the previous one's weight falls as time passes: one more fits once
    ``previous * (1 - e) + current + 1 <= limit``, at ``e = 1 - (limit - current - 1) / previous``. If no point
    of this window gets there, the next window starts with this one's count as its previous and none of its
    own, and one more fits at ``e = 1 - (limit - 1) / current`` into it (at once when that is negative)."""
    if previous > 0 and current + 1 <= limit:
        needed = 1.0 - (limit - current - 1) / previous
        if needed < 1.0:
            return max(1, math.ceil((needed - elapsed) * seconds))
    later = max(0.0, 1.0 - (limit - 1) / current) if current > 0 else 0.0
    return max(1, math.ceil((1.0 - elapsed + later) * seconds))


async def take(conn: AsyncConnection, key: str, *, limit: int, seconds: float, now: float) -> Decision:
    """Count one request of ``key`` if it fits the limit, in the caller's transaction (see the module docs)."""
    window = Window.at(now, seconds)
    table = rate_limits
    previous = (
        await conn.execute(sa.select(table.c.count).where(table.c.key == key, table.c.window == window.number - 1))
    ).scalar_one_or_none() or 0
    allowed_here = allowance(limit, previous, window.elapsed)
    count: int | None = None
    if allowed_here >= 1:
        stmt = dialect.insert(conn, table).values(key=key, window=window.number, count=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.key, table.c.window],
            set_={"count": table.c.count + 1},
            where=table.c.count < allowed_here,
        ).returning(table.c.count)
        count = (await conn.execute(stmt)).scalar_one_or_none()
    if count is None:
        current = (
            await conn.execute(sa.select(table.c.count).where(table.c.key == key, table.c.window == window.number))
        ).scalar_one_or_none() or 0
        wait = retry_after(limit, previous, current, window.elapsed, seconds)
        return Decision(False, 0, wait)
    if count == 1:  # a new window for this caller: what came before the previous one is no longer needed
        await conn.execute(sa.delete(table).where(table.c.key == key, table.c.window < window.number - 1))
    return Decision(True, max(0, allowed_here - count))


__all__ = ["Decision", "Window", "allowance", "retry_after", "take"]
