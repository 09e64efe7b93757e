"""A worker recovers from database faults without a restart, on SQLite and PostgreSQL alike.

The faults are injected at the engine's seam (a write that raises the error a killed connection raises, or a
claim that commits and then loses its answer); tests/e2e/test_database_faults.py makes the database itself go
away under real processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from remit.jobs.states import JobState
from remit.jobs.store.maintenance import is_held
from remit.jobs.worker import Worker
from remit.runtime import Runtime
from tests.support import jobs as J


@pytest.fixture
def rt(runtime: Runtime) -> Runtime:
    for definition in J.registry.definitions():
        runtime.engine.registry.add(definition)
    runtime.engine.settings = replace(runtime.engine.settings, heartbeat_interval=0.1)
    return runtime


def connection_killed() -> sa.exc.OperationalError:
    """What SQLAlchemy raises when the server terminated the connection under a statement."""
    return sa.exc.OperationalError("UPDATE remit_jobs …", {}, Exception("terminating connection"))


def failing_first(calls: list[str], times: int, real: Callable[..., Awaitable[Any]], *, after: bool = False) -> Any:
    """``real``, except that its first ``times`` calls raise :func:`connection_killed` — before running it,
    or (``after``) once it ran and committed, as when a connection dies before its answer arrives."""

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append("call")
        if len(calls) <= times:
            if after:
                await real(*args, **kwargs)
            raise connection_killed()
        return await real(*args, **kwargs)

    return wrapper


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.05)


async def enqueue(rt: Runtime, definition: Any) -> int:
    async with rt.db.begin() as conn:
        job_id = await rt.engine.enqueue(conn, definition, {})
    assert job_id is not None
    return job_id


async def run_worker(worker: Worker) -> asyncio.Task[None]:
    return asyncio.create_task(worker.run())


async def stop(worker: Worker, task: asyncio.Task[None]) -> None:
    worker.request_stop()
    await asyncio.wait_for(task, 15)


async def test_an_outcome_whose_write_fails_is_held_and_retried_until_written(rt: Runtime) -> None:
    job_id = await enqueue(rt, J.gives_up)  # discards itself: one run, one outcome to write
    calls: list[str] = []
    rt.engine.settle = failing_first(calls, 2, rt.engine.settle)  # type: ignore[method-assign]
    worker = rt.worker(queues=["test_default"], lead=False)
    held_while_failing: list[dict[int, int]] = []

    async def written() -> bool:
        if 0 < len(calls) <= 2:
            held_while_failing.append(worker.held)
        job = await rt.engine.get(job_id)
        return job is not None and job.state is JobState.DISCARDED

    task = await run_worker(worker)
    await wait_for(written)
    await stop(worker, task)
    job = await rt.engine.get(job_id)
    assert job is not None
    assert job.attempt == 1
    assert len(calls) == 3  # two failed writes, then the one that landed
    assert [e["type"] for e in job.errors] == ["Discard"]
    assert held_while_failing
    assert all(held == {job_id: 1} for held in held_while_failing)
    assert worker.held == {}
    assert worker.outcomes["discarded"] == 1


async def test_a_completion_whose_write_fails_is_retried_until_written(rt: Runtime) -> None:
    job_id = await enqueue(rt, J.noop)
    calls: list[str] = []
    rt.engine.complete = failing_first(calls, 2, rt.engine.complete)  # type: ignore[method-assign]
    # On SQLite a worker also commits its completions with its next claim: that write fails the same way.
    claim, completing_claim = rt.engine.claim, failing_first(calls, 2, rt.engine.claim)

    async def claim_or_complete(queue: str, **kwargs: Any) -> Any:
        return await (completing_claim if kwargs.get("finished") else claim)(queue, **kwargs)

    rt.engine.claim = claim_or_complete  # type: ignore[method-assign]
    worker = rt.worker(queues=["test_default"], lead=False)

    async def completed() -> bool:
        job = await rt.engine.get(job_id)
        return job is not None and job.state is JobState.COMPLETED

    task = await run_worker(worker)
    await wait_for(completed)
    await stop(worker, task)
    job = await rt.engine.get(job_id)
    assert job is not None
    assert job.attempt == 1
    assert job.errors == []
    assert len(calls) == 3
    assert worker.outcomes["completed"] == 1


async def test_a_claim_whose_answer_was_lost_is_rescued_while_its_worker_lives(rt: Runtime) -> None:
    job_id = await enqueue(rt, J.noop)
    calls: list[str] = []
    rt.engine.claim = failing_first(calls, 1, rt.engine.claim, after=True)  # type: ignore[method-assign]
    worker = rt.worker(queues=["test_default"], lead=False)
    task = await run_worker(worker)

    async def claimed_and_listed() -> bool:
        # The claim committed, the worker never heard of it, and a heartbeat since says what it holds.
        job = await rt.engine.get(job_id)
        live = await rt.engine.live_workers()
        return (
            job is not None
            and job.state is JobState.EXECUTING
            and bool(live)
            and live[0].heartbeat_at > job.attempted_at  # type: ignore[operator]
        )

    await wait_for(claimed_and_listed)
    assert worker.held == {}
    assert await rt.engine.rescue_orphans() == 1  # the worker is alive, and does not hold the run

    async def completed() -> bool:
        job = await rt.engine.get(job_id)
        return job is not None and job.state is JobState.COMPLETED

    await wait_for(completed)
    await stop(worker, task)
    job = await rt.engine.get(job_id)
    assert job is not None
    assert job.attempt == 2
    assert [e["type"] for e in job.errors] == ["RunLost"]


async def test_rescue_spares_the_runs_a_live_worker_holds_and_those_claimed_after_its_list(rt: Runtime) -> None:
    job_id = await enqueue(rt, J.noop)
    [run] = await rt.engine.claim("test_default", limit=1, worker_id="w")
    assert run.attempted_at is not None
    claimed_at = run.attempted_at

    async def heartbeat(running: list[int], as_of: Any) -> int:
        await rt.engine.heartbeat("w", host="h", pid=1, queues=[], running=running, running_as_of=as_of)
        return await rt.engine.rescue_orphans()

    assert await heartbeat([], None) == 0  # a worker that does not say what it holds keeps all of it
    assert await heartbeat([job_id], claimed_at + timedelta(seconds=1)) == 0  # held
    assert await heartbeat([], claimed_at) == 0  # the list is complete only for runs claimed before this
    assert await heartbeat([], claimed_at + timedelta(seconds=1)) == 1  # not held: rescued
    job = await rt.engine.get(job_id)
    assert job is not None
    assert job.state is JobState.AVAILABLE
    assert [e["type"] for e in job.errors] == ["RunLost"]
    # The worker's late completion of the run it lost matches nothing.
    assert await rt.engine.complete([(run.id, run.attempt)]) == 0


def test_is_held_reads_the_stored_list() -> None:
    assert is_held(3, [1, 3])
    assert not is_held(3, [1])
    assert not is_held(3, None)
