"""Usage rollups: usage per customer, meter and UTC hour or day, kept by an incremental job and recomputed
per period by the backfill.

**Each record counted exactly once.** The incremental rollup (:func:`roll_up`, periodic on ``remit_usage``)
keeps a watermark — the highest meter-event id it has counted — and in one transaction adds the records
above it (up to a high mark, in chunks) to the rollups and moves the watermark. A run that crashes midway
rolls back both; the next run starts from the same watermark. The high mark must be an id below which no
record can still appear: on PostgreSQL ids are handed out before commit, so a transaction still open may
commit a lower id after a higher one is visible. The high mark is therefore read under ``LOCK TABLE … IN
SHARE MODE``, which waits for every open transaction that inserted usage (and makes new inserts wait the
moment it takes — at most ``lock_timeout``; if it cannot have it, the run is deferred). SQLite has one
writer at a time, so its ids are already in commit order.

**Recompute.** :func:`recompute` replaces one period's rollups (a customer, some meters, one resolution) from
the records at or below the watermark, in one transaction that holds the watermark row: records above it
are the incremental rollup's to add, so the two never count one twice. Running it again yields the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db import dialect
from remit.db.engine import Database
from remit.db.tables import meter_events, usage_rollups, usage_watermarks
from remit.jobs.context import PeriodicContext
from remit.periodic import Counts, Every, PeriodicTask
from remit.usage.gauges import ROLLUP_WATERMARK

#: Ids added per transaction: bounds one transaction's work and how long it holds the watermark on a large
#: backlog (a few seconds on PostgreSQL), while letting a big backlog be scanned in few, parallel passes.
ROLLUP_CHUNK = 5_000_000
#: How long the high-mark read waits for open inserting transactions before deferring the run.
HIGH_MARK_LOCK_TIMEOUT_MS = 2000
ROLLUP_TASK_NAME = "usage.rollup"


class Resolution(StrEnum):
    HOURLY = "hourly"
    DAILY = "daily"

    @property
    def step(self) -> timedelta:
        return timedelta(hours=1) if self is Resolution.HOURLY else timedelta(days=1)

    def floor(self, moment: datetime) -> datetime:
        hour = moment.replace(minute=0, second=0, microsecond=0)
        return hour if self is Resolution.HOURLY else hour.replace(hour=0)


@dataclass(frozen=True, slots=True)
class Rollup:
    customer_id: str
    meter: str
    resolution: Resolution
    period_start: datetime
    value: int
    events: int

    def to_json(self, decimals: int = 0) -> dict[str, Any]:
        from remit.usage.values import format_units

        return {
            "customer": self.customer_id,
            "meter": self.meter,
            "resolution": self.resolution.value,
            "period_start": self.period_start.isoformat(),
            "value": format_units(self.value, decimals),
            "events": self.events,
        }


def _day_expression(conn: AsyncConnection) -> str:
    """SQL for the UTC day of the ``hour`` column, in the column's own stored form."""
    if conn.dialect.name == "postgresql":
        return "date_trunc('day', hour, 'UTC')"
    return "substr(hour, 1, 10) || ' 00:00:00.000000'"


_UPSERT = (
    "ON CONFLICT (customer_id, meter, resolution, period_start) DO UPDATE SET "
    "value = remit_usage_rollups.value + excluded.value, "
    "events = remit_usage_rollups.events + excluded.events, updated_at = excluded.updated_at"
)
_COLUMNS = "INSERT INTO remit_usage_rollups (customer_id, meter, resolution, period_start, value, events, updated_at)"


#: The working memory of a rollup chunk's aggregate on PostgreSQL: enough to hash a chunk's groups in memory
#: (the planner, guessing far more groups than there are, would otherwise sort them on disk).
ROLLUP_WORK_MEM = "64MB"
_CHUNK_TABLE = "remit_usage_rollup_chunk"


def _add_statements(conn: AsyncConnection, low: int, high: int) -> list[sa.TextClause]:
    """The statements that add records ``(low, high]`` to the hourly and daily rollups."""
    day = _day_expression(conn)
    if conn.dialect.name == "postgresql":
        # The chunk's hourly sums go to a temporary table first: a plain CREATE TABLE AS SELECT may scan and
        # aggregate in parallel (an INSERT … SELECT may not, on PostgreSQL 15), and both rollups are then
        # written from its few thousand rows. CREATE TABLE AS takes no bind parameters: ``low``/``high``
        # are integers, formatted as such.
        lo, hi = int(low), int(high)
        return [
            sa.text(f"SET LOCAL work_mem = '{ROLLUP_WORK_MEM}'"),
            sa.text(
                f"CREATE TEMPORARY TABLE {_CHUNK_TABLE} ON COMMIT DROP AS "
                "SELECT customer_id, meter, hour, sum(value) AS v, count(*) AS n "
                f"FROM remit_meter_events WHERE id > {lo} AND id <= {hi} GROUP BY customer_id, meter, hour"
            ),
            sa.text(f"{_COLUMNS} SELECT customer_id, meter, 'hourly', hour, v, n, :now FROM {_CHUNK_TABLE} {_UPSERT}"),
            sa.text(
                f"{_COLUMNS} SELECT customer_id, meter, 'daily', {day}, sum(v), sum(n), :now FROM {_CHUNK_TABLE} "
                f"GROUP BY customer_id, meter, {day} {_UPSERT}"
            ),
            sa.text(f"DROP TABLE {_CHUNK_TABLE}"),
        ]
    return [
        sa.text(
            f"{_COLUMNS} SELECT customer_id, meter, :res, {period}, sum(value), count(*), :now "
            f"FROM remit_meter_events WHERE id > :lo AND id <= :hi GROUP BY customer_id, meter, {period} {_UPSERT}"
        ).bindparams(res=res)
        for res, period in (("hourly", "hour"), ("daily", day))
    ]


async def high_mark(db: Database) -> int | None:
    """The highest meter-event id below which every record is committed (or never will be); None when the
    lock could not be had in time (see the module docs)."""
    async with db.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(sa.text(f"SET LOCAL lock_timeout = '{HIGH_MARK_LOCK_TIMEOUT_MS}ms'"))
            try:
                await conn.execute(sa.text("LOCK TABLE remit_meter_events IN SHARE MODE"))
            except DBAPIError as error:
                if "lock timeout" in str(error.orig).lower() or "55P03" in str(getattr(error.orig, "sqlstate", "")):
                    return None
                raise
        return int((await conn.execute(sa.select(sa.func.coalesce(sa.func.max(meter_events.c.id), 0)))).scalar_one())


async def _lock_watermark(conn: AsyncConnection, now: datetime) -> int:
    """The watermark, its row locked for this transaction (created at 0 the first time)."""
    await conn.execute(
        dialect.insert(conn, usage_watermarks)
        .values(name=ROLLUP_WATERMARK, last_id=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    query = sa.select(usage_watermarks.c.last_id).where(usage_watermarks.c.name == ROLLUP_WATERMARK)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return int((await conn.execute(query)).scalar_one())


async def watermark(conn: AsyncConnection) -> int:
    query = sa.select(usage_watermarks.c.last_id).where(usage_watermarks.c.name == ROLLUP_WATERMARK)
    return int((await conn.execute(query)).scalar_one_or_none() or 0)


async def add_chunk(conn: AsyncConnection, high: int, now: datetime, chunk: int = ROLLUP_CHUNK) -> int:
    """In ``conn``'s transaction: add the records above the watermark (at most ``chunk``, none above
    ``high``) to the rollups and move the watermark; how many ids the chunk covered (0: caught up)."""
    low = await _lock_watermark(conn, now)
    if low >= high:
        return 0
    top = min(high, low + chunk)
    for statement in _add_statements(conn, low, top):
        await conn.execute(statement, {"lo": low, "hi": top, "now": now})
    await conn.execute(
        sa.update(usage_watermarks)
        .where(usage_watermarks.c.name == ROLLUP_WATERMARK)
        .values(last_id=top, updated_at=now)
    )
    return top - low


async def roll_up(db: Database, now: datetime, *, chunk: int = ROLLUP_CHUNK) -> Counts:
    """Bring the rollups up to the high mark, one transaction per chunk."""
    high = await high_mark(db)
    if high is None:
        return {"deferred": 1}
    covered = chunks = 0
    while True:
        async with db.begin() as conn:
            step = await add_chunk(conn, high, now, chunk)
        if step == 0:
            break
        covered += step
        chunks += 1
    return {"ids": covered, "chunks": chunks}


async def run_rollup(ctx: PeriodicContext[object]) -> Counts:
    return await roll_up(ctx.db, ctx.clock.now())


#: Every minute, leader only, as a job on ``remit_usage``.
ROLLUP_TASK: PeriodicTask[PeriodicContext[object]] = PeriodicTask(
    ROLLUP_TASK_NAME, Every(60.0), run_rollup, queue="remit_usage"
)


async def recompute(
    conn: AsyncConnection,
    *,
    customer_id: str,
    meters: Sequence[str],
    resolution: Resolution,
    period_start: datetime,
    now: datetime,
) -> list[Rollup]:
    """Replace the period's rollups of ``customer_id`` for ``meters`` from the records at or below the
    watermark, in ``conn``'s transaction (see the module docs); the rollups as they now stand."""
    start = resolution.floor(period_start)
    end = start + resolution.step
    top = await _lock_watermark(conn, now)
    where = (
        usage_rollups.c.customer_id == customer_id,
        usage_rollups.c.meter.in_(list(meters)),
        usage_rollups.c.resolution == resolution.value,
        usage_rollups.c.period_start == start,
    )
    await conn.execute(sa.delete(usage_rollups).where(*where))
    sums = (
        sa.select(meter_events.c.meter, sa.func.sum(meter_events.c.value), sa.func.count())
        .where(
            meter_events.c.customer_id == customer_id,
            meter_events.c.meter.in_(list(meters)),
            meter_events.c.hour >= start,
            meter_events.c.hour < end,
            meter_events.c.id <= top,
        )
        .group_by(meter_events.c.meter)
    )
    rows = [
        {
            "customer_id": customer_id,
            "meter": meter,
            "resolution": resolution.value,
            "period_start": start,
            "value": int(value),
            "events": int(count),
            "updated_at": now,
        }
        for meter, value, count in await conn.execute(sums)
    ]
    if rows:
        await conn.execute(sa.insert(usage_rollups), rows)
    return [Rollup(customer_id, r["meter"], resolution, start, r["value"], r["events"]) for r in rows]


async def list_rollups(
    conn: AsyncConnection,
    *,
    customer_id: str,
    resolution: Resolution,
    start: datetime,
    end: datetime,
    meter: str | None = None,
    limit: int = 1000,
) -> list[Rollup]:
    """Rollups of ``customer_id`` with ``start <= period_start < end``, oldest first."""
    query = (
        sa.select(usage_rollups)
        .where(
            usage_rollups.c.customer_id == customer_id,
            usage_rollups.c.resolution == resolution.value,
            usage_rollups.c.period_start >= start,
            usage_rollups.c.period_start < end,
        )
        .order_by(usage_rollups.c.period_start, usage_rollups.c.meter)
        .limit(limit)
    )
    if meter is not None:
        query = query.where(usage_rollups.c.meter == meter)
    return [
        Rollup(
            r["customer_id"],
            r["meter"],
            Resolution(r["resolution"]),
            r["period_start"],
            int(r["value"]),
            int(r["events"]),
        )
        for r in (await conn.execute(query)).mappings()
    ]


__all__ = [
    "HIGH_MARK_LOCK_TIMEOUT_MS",
    "ROLLUP_CHUNK",
    "ROLLUP_TASK",
    "ROLLUP_TASK_NAME",
    "Resolution",
    "Rollup",
    "add_chunk",
    "high_mark",
    "list_rollups",
    "recompute",
    "roll_up",
    "run_rollup",
    "watermark",
]
