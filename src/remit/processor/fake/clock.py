"""The fake's clock: remit's clock plus an offset stored in ``remit_fake_clock``.

Stripe's test clocks let a test jump a subscription a month ahead; the fake does the same for its whole world.
The offset lives in the database, so ``remit fake clock advance`` in one terminal moves time for the running
service and worker too. Time is the injected base clock (the wall clock in a service, a
:class:`~remit.clock.FrozenClock` in tests) plus the offset, so tests stay deterministic and a fresh world
starts at "now".
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.clock import Clock
from remit.db.tables.fake import fake_clock
from remit.processor.fake.store import dialect_insert

ROW_ID = 1


class FakeClock:
    """Reads and moves the fake's time; every method takes the caller's connection."""

    def __init__(self, base: Clock) -> None:
        self.base = base

    async def offset(self, conn: AsyncConnection) -> int:
        """Seconds the fake is ahead of the base clock."""
        value = (
            await conn.execute(sa.select(fake_clock.c.offset_seconds).where(fake_clock.c.id == ROW_ID))
        ).scalar_one_or_none()
        return int(value or 0)

    async def now(self, conn: AsyncConnection) -> datetime:
        return self.base.now() + timedelta(seconds=await self.offset(conn))

    async def advance(self, conn: AsyncConnection, seconds: int) -> datetime:
        """Move the fake's time forward by ``seconds`` (never back: Stripe's clocks only go forward)."""
        if seconds < 0:
            raise ValueError("the fake's clock only moves forward")
        stmt = dialect_insert(conn, fake_clock).values(id=ROW_ID, offset_seconds=seconds, updated_at=self.base.now())
        stmt = stmt.on_conflict_do_update(
            index_elements=[fake_clock.c.id],
            set_={"offset_seconds": fake_clock.c.offset_seconds + seconds, "updated_at": self.base.now()},
        )
        await conn.execute(stmt)
        return await self.now(conn)


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


__all__ = ["FakeClock", "unix"]
