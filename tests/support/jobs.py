"""Jobs used by the job-engine tests, importable by worker subprocesses (``remit worker --import``)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import sqlalchemy as sa

from remit.jobs.context import JobContext
from remit.jobs.definition import JobRegistry, UniqueBy, job
from remit.jobs.retry import Backoff

#: These jobs, for tests that add them to a runtime's engine; worker subprocesses (``remit worker --import
#: tests.support.jobs``) collect them from this module instead.
registry = JobRegistry()
FAST = Backoff(base=0.3, factor=1, cap=0.3, jitter=0)

runs = sa.table("test_job_runs", sa.column("job_id"), sa.column("attempt"), sa.column("pid"))

CREATE_RUNS = "CREATE TABLE IF NOT EXISTS test_job_runs (job_id BIGINT, attempt INTEGER, pid INTEGER)"


async def record_run(ctx: JobContext) -> None:
    async with ctx.db.begin() as conn:
        await conn.execute(sa.insert(runs).values(job_id=ctx.job.id, attempt=ctx.job.attempt, pid=os.getpid()))


@job(queue="test_default", name="test.noop", registry=registry)
async def noop(ctx: JobContext, **_: Any) -> None:
    return None


@job(queue="test_default", name="test.record", registry=registry)
async def record(ctx: JobContext, sleep: float = 0.0, **_: Any) -> None:
    if sleep:
        await asyncio.sleep(sleep)
    await record_run(ctx)


@job(queue="test_default", name="test.mark", registry=registry)
async def mark(ctx: JobContext, sleep: float = 0.0, **_: Any) -> None:
    """Record this run in a file of the worker process's own: evidence of execution that adds no database
    writes (so many worker processes on one SQLite file measure the engine, not lock contention)."""
    if sleep:
        await asyncio.sleep(sleep)
    path = os.path.join(os.environ["REMIT_TEST_RUN_DIR"], f"{os.getpid()}.runs")
    with open(path, "a") as runs_file:
        runs_file.write(f"{ctx.job.id} {ctx.job.attempt}\n")


def read_marks(run_dir: str) -> list[tuple[int, int, str]]:
    """Every run :func:`mark` recorded: (job id, attempt, pid file)."""
    found = []
    for name in os.listdir(run_dir):
        with open(os.path.join(run_dir, name)) as runs_file:
            for line in runs_file:
                if line.strip():
                    job_id, attempt = line.split()
                    found.append((int(job_id), int(attempt), name))
    return found


@job(queue="test_default", name="test.sync_record", registry=registry)
def sync_record(ctx: JobContext, **_: Any) -> None:
    return None


@job(queue="test_default", name="test.fail", registry=registry, max_attempts=3, backoff=FAST)
async def always_fails(ctx: JobContext, **_: Any) -> None:
    raise RuntimeError(f"boom on attempt {ctx.job.attempt}")


@job(queue="test_default", name="test.snooze", registry=registry, max_attempts=1)
async def snoozes(ctx: JobContext, **_: Any) -> None:
    if ctx.job.meta.get("snoozed", 0) < 2:
        ctx.snooze(0, "rate limited")


@job(queue="test_default", name="test.cancel", registry=registry)
async def cancels(ctx: JobContext, **_: Any) -> None:
    ctx.cancel("nothing to do")


@job(queue="test_default", name="test.discard", registry=registry, max_attempts=5, backoff=FAST)
async def gives_up(ctx: JobContext, **_: Any) -> None:
    ctx.discard(f"input {ctx.job.id} can never work")


@job(queue="test_default", name="test.slow", registry=registry, timeout=0.05, max_attempts=1)
async def too_slow(ctx: JobContext, **_: Any) -> None:
    await asyncio.sleep(5)


@job(queue="test_default", name="test.unique", registry=registry, unique=UniqueBy("key"))
async def unique_job(ctx: JobContext, key: str) -> None:
    return None


@job(queue="test_cron", name="test.cron_tick", registry=registry)
async def cron_tick(ctx: JobContext, **_: Any) -> None:
    await record_run(ctx)


@job(queue="test_default", name="test.stepped", registry=registry)
async def stepped(ctx: JobContext, steps: int, gate_dir: str, **_: Any) -> None:
    """Report progress ``i/steps`` once the test created the file ``step-i`` in ``gate_dir``: a job whose
    progress a test in another process moves by hand."""
    for done in range(1, steps + 1):
        while not os.path.exists(os.path.join(gate_dir, f"step-{done}")):
            await asyncio.sleep(0.02)
        await ctx.progress(done, steps)
