"""The usage backfill: one recompute job per period over a window, safe to run any number of times.

:func:`periods` (pure) splits ``[start, end)`` into hours or days; :func:`enqueue_backfill` queues one
``remit.usage.recompute`` job per period on ``remit_usage``, unique on (customer, meters, resolution,
period): a second run while the first's jobs wait queues nothing new, and a later run replaces each period's
rollups with the same numbers (:func:`remit.usage.rollups.recompute`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from remit.jobs.context import JobContext
from remit.jobs.definition import UniqueBy, job
from remit.jobs.rows import JobRequest
from remit.runtime import Runtime
from remit.usage.rollups import Resolution, recompute

RECOMPUTE_JOB = "remit.usage.recompute"
#: The most periods one backfill may queue (a year of hours).
MAX_PERIODS = 24 * 366


def periods(start: datetime, end: datetime, resolution: Resolution) -> list[datetime]:
    """The period starts covering ``[start, end)`` (``start`` floored to its period); pure."""
    if end <= start:
        raise ValueError("end must be after start")
    found = []
    moment = resolution.floor(start)
    while moment < end:
        found.append(moment)
        moment += resolution.step
        if len(found) > MAX_PERIODS:
            raise ValueError(f"a backfill covers at most {MAX_PERIODS} periods")
    return found


@job(queue="remit_usage", name=RECOMPUTE_JOB, max_attempts=10, unique=UniqueBy())
async def recompute_period(
    ctx: JobContext[Runtime], customer_id: str, meters: list[str], resolution: str, period_start: str
) -> dict[str, int]:
    """Replace one period's rollups from the stored records (one transaction)."""
    runtime = ctx.app
    async with runtime.db.begin() as conn:
        rollups = await recompute(
            conn,
            customer_id=customer_id,
            meters=meters,
            resolution=Resolution(resolution),
            period_start=datetime.fromisoformat(period_start),
            now=runtime.clock.now(),
        )
    return {"meters": len(rollups), "events": sum(r.events for r in rollups)}


async def enqueue_backfill(
    runtime: Runtime,
    *,
    customer_id: str,
    meters: Sequence[str],
    resolution: Resolution,
    start: datetime,
    end: datetime,
) -> tuple[int, list[int]]:
    """Queue the recompute jobs of a backfill: how many periods it covers, and the ids of the jobs queued
    now (fewer when some are already waiting)."""
    starts = periods(start, end, resolution)
    requests = [
        JobRequest(
            recompute_period,
            {
                "customer_id": customer_id,
                "meters": sorted(meters),
                "resolution": resolution.value,
                "period_start": moment.isoformat(),
            },
        )
        for moment in starts
    ]
    async with runtime.db.begin() as conn:
        ids = await runtime.engine.enqueue_many(conn, requests)
    return len(starts), list(ids)


__all__ = ["MAX_PERIODS", "RECOMPUTE_JOB", "enqueue_backfill", "periods", "recompute_period"]
