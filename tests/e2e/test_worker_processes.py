"""Real worker processes against SQLite and PostgreSQL: exactly once, SIGKILL, cron with many workers."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from remit.db.tables import jobs
from remit.jobs.engine import Engine
from remit.jobs.rows import JobRequest
from tests.support import jobs as J
from tests.support.processes import start_worker, workers

pytestmark = pytest.mark.slow


async def _prepare(database, requests):
    async with database.begin() as conn:
        await conn.exec_driver_sql(J.CREATE_RUNS)
        for start in range(0, len(requests), 2000):
            await Engine(database).enqueue_many(conn, requests[start : start + 2000])


async def _count(database, sql):
    async with database.connect() as conn:
        return (await conn.execute(sa.text(sql))).scalar_one()


async def _wait_until(predicate, timeout, procs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return True
        for proc in procs:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        await asyncio.sleep(0.05)
    return False


@pytest.fixture
def run_dir(tmp_path):
    path = tmp_path / "runs"
    path.mkdir()
    return str(path)


async def test_four_workers_run_ten_thousand_jobs_exactly_once(database, db_url, run_dir):
    total = 10_000
    await _prepare(database, [JobRequest(J.mark, {"n": i}) for i in range(total)])
    # A lease far longer than any heartbeat delay under this load: no live worker's job may be rescued.
    env = {"REMIT_JOB_LEASE_SECONDS": "60", "REMIT_TEST_RUN_DIR": run_dir}
    with workers(db_url, 4, "--queues", "test_default", **env) as procs:
        done = await _wait_until(lambda: _completed(database, total), timeout=240, procs=procs)
    assert done, "not every job completed in time"
    marks = J.read_marks(run_dir)
    assert len(marks) == total, "some job ran more than once (or not at all)"
    assert len({job_id for job_id, _, _ in marks}) == total
    assert len({pid for _, _, pid in marks}) >= 2, "the work was not shared between processes"
    assert await _count(database, "SELECT max(attempt) FROM remit_jobs") == 1


async def _completed(database, total):
    return await _count(database, "SELECT count(*) FROM remit_jobs WHERE state = 'completed'") == total


async def test_sigkilled_worker_loses_no_job(database, db_url, run_dir):
    total = 300
    await _prepare(database, [JobRequest(J.mark, {"n": i, "sleep": 0.2}) for i in range(total)])
    env = {"REMIT_TEST_RUN_DIR": run_dir}
    victim = start_worker(db_url, "--queues", "test_default", **env)
    try:
        assert await _wait_until(lambda: _some_executing(database, victim.pid), timeout=30, procs=[victim])
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        with workers(db_url, 1, "--queues", "test_default", **env) as procs:
            assert await _wait_until(lambda: _completed(database, total), timeout=120, procs=procs)
    finally:
        if victim.poll() is None:
            victim.kill()
    marks = J.read_marks(run_dir)
    runs_per_job = Counter(job_id for job_id, _, _ in marks)
    assert len(runs_per_job) == total, "a job was lost"
    assert max(runs_per_job.values()) <= 2, "a job ran more than once after a single kill"
    assert await _count(database, "SELECT count(*) FROM remit_jobs WHERE attempt = 2") >= 1


async def _some_executing(database, pid):
    sql = f"SELECT count(*) FROM remit_jobs WHERE state = 'executing' AND attempted_by LIKE '%:{pid}:%'"
    return await _count(database, sql) > 0


async def test_cron_fires_once_per_tick_with_three_workers(database, db_url):
    async with database.begin() as conn:
        await conn.exec_driver_sql(J.CREATE_RUNS)
    with workers(db_url, 3, "--import", "tests.support.cron_jobs", "--queues", "test_cron") as procs:
        assert await _wait_until(lambda: _ticks(database, 5), timeout=60, procs=procs)
    async with database.connect() as conn:
        rows = (await conn.execute(sa.select(jobs.c.meta).where(jobs.c.name == "test.cron_tick"))).scalars().all()
    ticks = [meta["tick"] for meta in rows]
    assert len(ticks) >= 5
    assert len(ticks) == len(set(ticks)), "a tick fired twice"


async def _ticks(database, n):
    return await _count(database, "SELECT count(*) FROM remit_jobs WHERE name = 'test.cron_tick'") >= n
