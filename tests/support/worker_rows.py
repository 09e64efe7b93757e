"""A worker's heartbeat row, as a running ``remit worker`` keeps it, for the checks that count live workers
(``remit doctor``'s ``workers`` check) without starting one."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from remit.db.tables import workers
from remit.runtime import Runtime


async def add_live_worker(runtime: Runtime, *, age_s: float = 0.0) -> None:
    """A worker row whose last heartbeat was ``age_s`` seconds ago on the runtime's clock (0: just now)."""
    now = runtime.clock.now() - timedelta(seconds=age_s)
    async with runtime.db.begin() as conn:
        await conn.execute(
            sa.insert(workers).values(
                id=f"test-worker-{age_s}",
                host="test",
                pid=1,
                queues=["remit_webhooks"],
                started_at=now,
                heartbeat_at=now,
            )
        )
