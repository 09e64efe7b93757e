"""The usage part's benchmark on PostgreSQL, every figure beside its floor in the same run.

    .venv/bin/python bench/usage.py [--reports 50000] [--batch 1000] [--sizes 1000000,10000000]

- ``report_usage_per_s``: ``--reports`` usage reports through :func:`remit.usage.report_usage_many` (checked,
  inserted once per operation id with ``ON CONFLICT DO NOTHING … RETURNING`` from one JSON array parameter,
  one report job per batch queued in the same transaction), ``--batch`` per committed transaction, into a
  fresh database.
- ``raw_insert_per_s``: the floor — the same rows (their own operation ids), already checked, with a plain
  batched ``INSERT`` into the same table (SQLAlchemy executemany, sent as multi-row ``VALUES``), same
  batches. The two are interleaved batch by batch, each going first every other batch, so a loaded machine
  slows both alike and their ratio holds (``--sizes ''`` measures only these two).
- ``rollup_s_1m`` / ``rollup_s_10m``: the incremental rollup (:func:`remit.usage.roll_up`, hourly and daily,
  in chunks of 5 million ids, each chunk one transaction that also moves the watermark) over 1,000,000 and
  10,000,000 meter events (100 customers, 2 meters, arriving in time order over 30 days, as a live store
  fills), rollups and watermark empty.
  The events are generated in the database with ``generate_series`` (not timed); the secondary indexes are
  dropped for that load, since the rollup reads by primary-key range only. The load ends with ``VACUUM
  ANALYZE`` (as autovacuum would have done on a live store), so neither measurement pays the one-time pass
  that sets the fresh rows' hint bits and writes every page again — before, the rollup, measured first, paid
  it alone.
- ``group_by_s_10m``: the floor — one plain ``SELECT customer_id, meter, day, sum(value), count(*) … GROUP BY``
  over the same 10,000,000 rows (results fetched), run after the rollup on the same warm table.

The last line is one JSON object with those keys. Targets (issue 11): ``report_usage_per_s`` >= 10,000 and
>= 0.5 * ``raw_insert_per_s``; ``rollup_s_10m`` <= 12 * ``rollup_s_1m``, <= 2 * ``group_by_s_10m`` and < 60.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from bench.jobs import checkpoint, fresh_database, migrate_database, render  # noqa: E402

from remit.clock import FrozenClock  # noqa: E402
from remit.config import Settings  # noqa: E402
from remit.db.tables import meter_events  # noqa: E402
from remit.parts import build_runtime  # noqa: E402
from remit.usage import UsageReport, report_usage_many, roll_up  # noqa: E402
from remit.usage.records import row_values  # noqa: E402
from remit.usage.values import check  # noqa: E402

CUSTOMERS = 100
DAYS = 30


def reports(n: int, now: datetime) -> list[UsageReport]:
    return [
        UsageReport(
            f"cus_{i % CUSTOMERS:05d}", "api_requests", i % 50 + 1, f"bench-{i}", now - timedelta(minutes=i % 40_000)
        )
        for i in range(n)
    ]


async def measure_reporting(url: str, n: int, batch: int) -> tuple[float, float]:
    settings = Settings.model_validate({"DATABASE_URL": url, "REMIT_ENV": "test"})
    runtime = build_runtime(settings, clock=FrozenClock(datetime.now(UTC)))
    try:
        now = runtime.clock.now()
        items = reports(n, now)
        async with runtime.db.begin() as conn:
            await conn.execute(sa.text("SELECT 1"))
        rows = [
            row_values(check(r, runtime.settings.meters, now), now) | {"operation_id": f"raw-{i}"}
            for i, r in enumerate(items)
        ]
        checkpoint()
        report_s = raw_s = 0.0

        async def report(first: int) -> float:
            started = time.perf_counter()
            async with runtime.db.begin() as conn:
                outcomes = await report_usage_many(conn, items[first : first + batch])
            assert all(o.created for o in outcomes)
            return time.perf_counter() - started

        async def raw(first: int) -> float:
            started = time.perf_counter()
            async with runtime.db.begin() as conn:
                await conn.execute(sa.insert(meter_events), rows[first : first + batch])
            return time.perf_counter() - started

        # Batch by batch, alternately first, into the same table: both meet the same load and table size.
        for number, first in enumerate(range(0, n, batch)):
            if number % 2:
                raw_s += await raw(first)
                report_s += await report(first)
            else:
                report_s += await report(first)
                raw_s += await raw(first)
        return n / report_s, n / raw_s
    finally:
        await runtime.close()


def load_events(engine: sa.Engine, total: int) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE remit_meter_events, remit_usage_rollups, remit_usage_watermarks")
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_remit_meter_events_state_created_at")
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_remit_meter_events_customer_meter_hour")
        conn.exec_driver_sql(
            "ALTER TABLE remit_meter_events DROP CONSTRAINT IF EXISTS uq_remit_meter_events_operation_id"
        )
        conn.exec_driver_sql(
            "INSERT INTO remit_meter_events (operation_id, customer_id, meter, value, timestamp, hour, state, "
            "attempts, created_at, updated_at) "
            f"SELECT 'gen-' || g, 'cus_' || lpad((g %% {CUSTOMERS})::text, 5, '0'), "
            "CASE WHEN g %% 2 = 0 THEN 'api_requests' ELSE 'storage' END, g %% 50 + 1, t, "
            "date_trunc('hour', t, 'UTC'), 'reported', 1, t, t "
            f"FROM (SELECT g, now() - make_interval(secs => {DAYS} * 86400.0 * ({total} - g) / {total}) AS t "
            f"FROM generate_series(1, {total}) g) s"
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE remit_meter_events")
    checkpoint()


async def measure_rollup(url: str) -> float:
    from remit.db.engine import Database

    db = Database.from_url(url)
    try:
        started = time.perf_counter()
        counts = await roll_up(db, FrozenClock(datetime.now(UTC)).now())
        elapsed = time.perf_counter() - started
        assert counts.get("ids", 0) > 0, counts
        return elapsed
    finally:
        await db.dispose()


def measure_group_by(engine: sa.Engine) -> float:
    with engine.connect() as conn:
        started = time.perf_counter()
        rows = conn.exec_driver_sql(
            "SELECT customer_id, meter, date_trunc('day', hour, 'UTC') AS day, sum(value), count(*) "
            "FROM remit_meter_events GROUP BY customer_id, meter, day"
        ).fetchall()
        elapsed = time.perf_counter() - started
    assert rows
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--sizes", default="1000000,10000000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    figures: dict[str, float | None] = {}
    rows: list[tuple[str, str, str]] = []
    with fresh_database("usage") as url_obj:
        url = render(url_obj)
        migrate_database(url)
        report_per_s, raw_per_s = asyncio.run(measure_reporting(url, args.reports, args.batch))
        figures["report_usage_per_s"] = round(report_per_s)
        figures["raw_insert_per_s"] = round(raw_per_s)
        rows.append(("report_usage_per_s", f"{report_per_s:,.0f}", ">= 10,000 and >= 0.5 x raw"))
        rows.append(("raw_insert_per_s", f"{raw_per_s:,.0f}", "floor"))
        engine = sa.create_engine(url_obj.set(drivername="postgresql+psycopg"), poolclass=sa.pool.NullPool)
        try:
            for size in sizes:
                load_events(engine, size)
                seconds = asyncio.run(measure_rollup(url))
                key = f"rollup_s_{size // 1_000_000}m"
                figures[key] = round(seconds, 2)
                rows.append((key, f"{seconds:.2f}", f"{size:,} events"))
            if 10_000_000 in sizes:
                figures["group_by_s_10m"] = round(measure_group_by(engine), 2)
                rows.append(("group_by_s_10m", f"{figures['group_by_s_10m']:.2f}", "floor"))
        finally:
            engine.dispose()
    for name, value, note in rows:
        print(f"{name:<22} {value:>14}   {note}")
    r1, r10, g10 = figures.get("rollup_s_1m"), figures.get("rollup_s_10m"), figures.get("group_by_s_10m")
    met = {
        "report >= 10k/s": report_per_s >= 10_000,
        "report >= 0.5 raw": report_per_s >= 0.5 * raw_per_s,
        "rollup_10m <= 12 x 1m": None if r1 is None or r10 is None else r10 <= 12 * r1,
        "rollup_10m <= 2 x group_by": None if r10 is None or g10 is None else r10 <= 2 * g10,
        "rollup_10m < 60 s": None if r10 is None else r10 < 60,
    }
    for name, ok in met.items():
        print(f"{name:<30} {'met' if ok else 'NOT met' if ok is False else 'not measured'}")
    print(json.dumps(figures))
    sys.exit(0 if all(v is not False for v in met.values()) else 1)


if __name__ == "__main__":
    main()
