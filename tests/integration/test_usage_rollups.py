"""Rollups on both databases: every record counted exactly once however often the incremental rollup runs or
crashes midway, a backfill run twice yields identical rollups, and the CLI backfill follows its jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from remit.cli import app as cli_app
from remit.db.tables import usage_rollups
from remit.runtime import Runtime
from remit.usage import Resolution, UsageReport, enqueue_backfill, list_rollups, report_usage_many, roll_up
from remit.usage.rollups import add_chunk, high_mark, watermark
from tests.support.webhooks import make_runtime, webhook_settings


@pytest.fixture
async def rt(db_url: str) -> AsyncIterator[Runtime]:
    runtime = make_runtime(webhook_settings(db_url))
    yield runtime
    await runtime.close()


async def seed(rt: Runtime, n: int, prefix: str = "op") -> None:
    """``n`` records of 1..n units over the last three days, two customers."""
    now = rt.clock.now()
    reports = [
        UsageReport(f"cus_{i % 2}", "api_requests", i, f"{prefix}-{i}", now - timedelta(hours=(i * 7) % 72))
        for i in range(1, n + 1)
    ]
    for start in range(0, n, 1000):
        async with rt.db.begin() as conn:
            await report_usage_many(conn, reports[start : start + 1000])


async def table(rt: Runtime) -> list[tuple[object, ...]]:
    async with rt.db.connect() as conn:
        query = sa.select(usage_rollups).order_by(*usage_rollups.primary_key.columns)
        return [
            (r.customer_id, r.meter, r.resolution, r.period_start, r.value, r.events) for r in await conn.execute(query)
        ]


def totals(rows: list[tuple[object, ...]], resolution: str) -> tuple[int, int]:
    picked = [r for r in rows if r[2] == resolution]
    return sum(int(r[4]) for r in picked), sum(int(r[5]) for r in picked)  # type: ignore[call-overload]


async def test_each_record_is_counted_once_however_often_the_rollup_runs(rt: Runtime) -> None:
    await seed(rt, 300)
    expected = (sum(range(1, 301)), 300)
    await roll_up(rt.db, rt.clock.now(), chunk=70)
    await roll_up(rt.db, rt.clock.now(), chunk=70)
    rows = await table(rt)
    assert totals(rows, "hourly") == expected
    assert totals(rows, "daily") == expected
    await seed(rt, 10, prefix="later")
    await roll_up(rt.db, rt.clock.now())
    assert totals(await table(rt), "daily") == (expected[0] + 55, 310)


async def test_a_rollup_killed_midway_and_rerun_counts_every_unit_once(rt: Runtime) -> None:
    await seed(rt, 200)
    high = await high_mark(rt.db)
    assert high is not None
    async with rt.db.begin() as conn:  # the first chunk commits
        await add_chunk(conn, high, rt.clock.now(), chunk=50)
    with pytest.raises(RuntimeError):  # the second dies after its statements ran, before commit
        async with rt.db.begin() as conn:
            await add_chunk(conn, high, rt.clock.now(), chunk=50)
            raise RuntimeError("worker killed")
    async with rt.db.connect() as conn:
        assert await watermark(conn) == 50
    await roll_up(rt.db, rt.clock.now(), chunk=50)
    rows = await table(rt)
    assert totals(rows, "hourly") == (sum(range(1, 201)), 200)
    assert totals(rows, "daily") == (sum(range(1, 201)), 200)


async def test_a_backfill_run_twice_yields_identical_rollups(rt: Runtime) -> None:
    await seed(rt, 120)
    await roll_up(rt.db, rt.clock.now())
    incremental = await table(rt)
    start = rt.clock.now() - timedelta(days=4)
    end = rt.clock.now() + timedelta(days=1)
    async with rt.db.begin() as conn:  # a rollup row gone wrong, which the backfill must repair
        await conn.execute(sa.update(usage_rollups).where(usage_rollups.c.customer_id == "cus_0").values(value=0))
    for customer in ("cus_0", "cus_1"):
        for resolution in Resolution:
            periods, ids = await enqueue_backfill(
                rt, customer_id=customer, meters=["api_requests"], resolution=resolution, start=start, end=end
            )
            again, none = await enqueue_backfill(
                rt, customer_id=customer, meters=["api_requests"], resolution=resolution, start=start, end=end
            )
            assert len(ids) == periods == again
            assert none == []  # still queued: nothing new
    await rt.drain(["remit_usage"], max_rounds=1000)
    first = await table(rt)
    assert first == incremental
    for resolution in Resolution:
        await enqueue_backfill(
            rt, customer_id="cus_0", meters=["api_requests"], resolution=resolution, start=start, end=end
        )
    await rt.drain(["remit_usage"], max_rounds=1000)
    assert await table(rt) == first
    async with rt.db.connect() as conn:
        daily = await list_rollups(conn, customer_id="cus_1", resolution=Resolution.DAILY, start=start, end=end)
    assert sum(r.events for r in daily) == 60


def test_the_cli_backfill_runs_inline_and_prints_a_summary(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(
        cli_app,
        ["usage", "backfill", "--customer", "cus_x", "--start", "2024-08-01", "--end", "2024-08-04", "--inline"],
    )
    assert result.exit_code == 0, result.output
    assert "backfill: 3 periods, 3 jobs queued, 0 already queued, 3 completed, 0 failed" in result.output
