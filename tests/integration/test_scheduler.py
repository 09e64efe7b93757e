"""Periodic work on both databases: each tick once, every run wrapped (log, metric, ops event) and recorded."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from remit.clock import FrozenClock
from remit.db.tables import jobs
from remit.jobs.context import PeriodicContext
from remit.jobs.cron import cron
from remit.jobs.engine import Engine
from remit.jobs.scheduler import PERIODIC_JOB
from remit.periodic import Counts, Cron, Every, PeriodicTask
from remit.runtime import Runtime
from remit.telemetry import metrics
from tests.support import jobs as J


class Counting:
    """A task's run: counts its calls and what it was handed; fails while ``broken``."""

    def __init__(self) -> None:
        self.contexts: list[PeriodicContext[Any]] = []
        self.broken = False

    async def __call__(self, ctx: PeriodicContext[Any]) -> Counts:
        self.contexts.append(ctx)
        if self.broken:
            raise RuntimeError("upstream said no")
        return {"touched": len(self.contexts), "skipped": 0}


def engine_with(runtime: Runtime, *tasks: Any, clock: FrozenClock | None = None) -> Engine:
    """Another engine (another process, as far as the database can tell) with ``tasks`` to schedule."""
    periodic = [task for task in tasks if isinstance(task, PeriodicTask)]
    entries = [task for task in tasks if not isinstance(task, PeriodicTask)]
    return Engine(runtime.db, clock=clock or FrozenClock(runtime.clock.now()), periodic=periodic, cron=entries)


def runs(task: str, outcome: str) -> float:
    return metrics.REGISTRY.get_sample_value("remit_periodic_runs_total", {"task": task, "outcome": outcome}) or 0.0


async def entry(engine: Engine, name: str) -> Any:
    return next(item for item in await engine.schedule() if item.name == name)


async def test_an_inline_task_runs_once_per_tick_and_is_recorded(runtime: Runtime, caplog: Any) -> None:
    run = Counting()
    clock = FrozenClock(runtime.clock.now())
    engine = engine_with(runtime, PeriodicTask("test.inline", Every(60), run), clock=clock)
    before = runs("test.inline", "ok")
    with caplog.at_level(logging.INFO, logger="remit.jobs.scheduler"):
        assert "test.inline" in await engine.fire_due(app="the app")
    assert "test.inline" not in await engine.fire_due()  # same tick
    assert [(ctx.task, ctx.app, ctx.engine) for ctx in run.contexts] == [("test.inline", "the app", engine)]
    assert runs("test.inline", "ok") == before + 1
    assert any(
        r.getMessage() == "periodic task ran" and getattr(r, "task", None) == "test.inline" for r in caplog.records
    )
    recorded = await entry(engine, "test.inline")
    assert (recorded.kind, recorded.schedule, recorded.leader_only, recorded.queue) == (
        "periodic",
        "every 60s",
        True,
        None,
    )
    assert (recorded.last_outcome, recorded.last_counts, recorded.last_error) == (
        "ok",
        {"touched": 1, "skipped": 0},
        None,
    )
    assert recorded.last_run_at == clock.now()
    assert recorded.next_run_at == clock.now() + timedelta(seconds=60)
    clock.advance(60)
    assert "test.inline" in await engine.fire_due()
    assert len(run.contexts) == 2


async def test_a_failing_task_is_logged_counted_recorded_and_raises_an_ops_event(
    runtime: Runtime, ops_events: list[tuple[str, dict[str, Any]]], caplog: Any
) -> None:
    run = Counting()
    run.broken = True
    engine = engine_with(runtime, PeriodicTask("test.failing", Every(60), run))
    before = runs("test.failing", "failed")
    with caplog.at_level(logging.ERROR, logger="remit.jobs.scheduler"):
        assert "test.failing" in await engine.fire_due()  # a failure never stops the scheduler
    assert runs("test.failing", "failed") == before + 1
    assert ("periodic.failed", {"task": "test.failing", "error_type": "RuntimeError"}) in ops_events
    assert any(r.getMessage() == "periodic task failed" for r in caplog.records)
    assert "upstream said no" not in caplog.text  # the type only, never a message
    recorded = await entry(engine, "test.failing")
    assert (recorded.last_outcome, recorded.last_error, recorded.last_counts) == ("failed", "RuntimeError", {})


async def test_a_leader_only_tick_runs_once_across_processes(runtime: Runtime) -> None:
    run = Counting()
    task = PeriodicTask("test.once", Every(60), run)
    first, second = engine_with(runtime, task), engine_with(runtime, task)
    fired = await asyncio.gather(first.fire_due(), second.fire_due(), first.fire_due())
    assert sum("test.once" in names for names in fired) == 1
    assert len(run.contexts) == 1


async def test_every_process_tasks_run_in_each_process_without_leading(runtime: Runtime) -> None:
    local, shared = Counting(), Counting()
    tasks = (
        PeriodicTask("test.local", Every(60), local, leader_only=False),
        PeriodicTask("test.shared", Every(60), shared),
    )
    first, second = engine_with(runtime, *tasks), engine_with(runtime, *tasks)
    assert await first.fire_due(leader=False) == ["test.local"]
    assert await second.fire_due(leader=False) == ["test.local"]
    assert await first.fire_due(leader=False) == []  # its own tick, in its own process
    assert (len(local.contexts), len(shared.contexts)) == (2, 0)


async def test_a_queued_task_is_enqueued_once_per_tick_then_run_as_a_job(runtime: Runtime) -> None:
    run = Counting()
    engine = engine_with(runtime, PeriodicTask("test.queued", Every(3600), run, queue="remit_maintenance"))
    before = runs("test.queued", "enqueued")
    assert "test.queued" in await engine.fire_due()
    assert "test.queued" not in await engine.fire_due()
    assert run.contexts == []  # not inline: a job on its queue
    assert runs("test.queued", "enqueued") == before + 1
    async with runtime.db.connect() as conn:
        [job] = (await conn.execute(sa.select(jobs.c.name, jobs.c.queue, jobs.c.args))).all()
    assert (job.name, job.queue, job.args["task"]) == (PERIODIC_JOB, "remit_maintenance", "test.queued")
    assert (await entry(engine, "test.queued")).last_outcome == "enqueued"
    assert (await engine.drain(["remit_maintenance"], app="the app"))["completed"] == 1
    assert [(ctx.task, ctx.app) for ctx in run.contexts] == [("test.queued", "the app")]
    assert (await entry(engine, "test.queued")).last_outcome == "ok"


async def test_a_failing_queued_run_is_retried_by_the_engine(runtime: Runtime) -> None:
    run = Counting()
    run.broken = True
    engine = engine_with(runtime, PeriodicTask("test.queued_failing", Every(3600), run, queue="remit_maintenance"))
    await engine.fire_due()
    assert (await engine.drain(["remit_maintenance"]))["retryable"] == 1
    assert (await entry(engine, "test.queued_failing")).last_outcome == "failed"


async def test_the_schedule_lists_tasks_and_cron_entries_with_last_and_next_runs(runtime: Runtime) -> None:
    engine = engine_with(runtime, cron("test.minutely", "* * * * *", J.cron_tick))
    assert "test.minutely" in await engine.fire_due()
    listed = {item.name: item for item in await engine.schedule()}
    assert list(listed) == ["jobs.rescue", "jobs.prune", "test.minutely"]
    minutely = listed["test.minutely"]
    assert (minutely.kind, minutely.schedule, minutely.queue, minutely.last_outcome) == (
        "cron",
        "cron * * * * *",
        "test_cron",
        "enqueued",
    )
    assert minutely.next_run_at == Cron("* * * * *").latest_tick(engine.clock.now()) + timedelta(minutes=1)
    assert listed["jobs.rescue"].last_outcome == "ok"
    # what another process declared and this one does not still shows, as recorded
    other = engine_with(runtime)
    undeclared = {item.name: item for item in await other.schedule()}["test.minutely"]
    assert (undeclared.declared, undeclared.kind, undeclared.last_outcome) == (False, "cron", "enqueued")


async def test_the_worker_leads_and_runs_the_engines_upkeep(runtime: Runtime) -> None:
    worker = runtime.worker(queues=["test_default"], lead=True)
    task = asyncio.create_task(worker.run())
    try:
        for _ in range(200):  # webhooks.prune is the last of the leader's first tick
            if (await entry(runtime.engine, "webhooks.prune")).last_outcome == "enqueued":
                break
            await asyncio.sleep(0.05)
        assert worker.is_leader
        assert (await entry(runtime.engine, "jobs.rescue")).last_outcome == "ok"
        assert (await entry(runtime.engine, "webhooks.prune")).last_outcome == "enqueued"
    finally:
        worker.request_stop()
        await asyncio.wait_for(task, 10)
