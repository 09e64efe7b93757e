"""LISTEN/NOTIFY wakes workers on PostgreSQL, and survives its connection being dropped."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
import sqlalchemy as sa

from remit.jobs.rows import JobRequest
from remit.jobs.store.enqueue import COPY_FROM_ROWS
from tests.support import jobs as J


@pytest.fixture
def pg_rt(runtime):
    if not runtime.db.is_postgres:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite workers poll")
    for definition in J.registry.definitions():
        runtime.engine.registry.add(definition)
    # Polling so slow that only a notification can explain a quick pickup.
    runtime.engine.settings = replace(runtime.engine.settings, poll_interval=60.0)
    return runtime


async def _picked_up_within(rt, worker, seconds, *, batch=1):
    before = worker.outcomes["completed"]
    async with rt.db.begin() as conn:
        if batch == 1:
            await rt.engine.enqueue(conn, J.noop, {})
        else:
            await rt.engine.enqueue_many(conn, [JobRequest(J.noop, {"n": i}) for i in range(batch)])
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if worker.outcomes["completed"] >= before + batch:
            return True
        await asyncio.sleep(0.02)
    return False


async def test_notify_wakes_worker_and_listener_reconnects(pg_rt):
    worker = pg_rt.worker(queues=["test_default"], lead=False)
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(_listening(worker), 10)
        assert await _picked_up_within(pg_rt, worker, 3)

        async with pg_rt.db.begin() as conn:
            killed = (
                await conn.execute(
                    sa.text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE query LIKE 'LISTEN remit_jobs%' AND datname = current_database() "
                        "AND pid <> pg_backend_pid()"
                    )
                )
            ).scalar_one()
        assert killed == 1
        await asyncio.wait_for(_reconnected(worker), 10)
        assert await _picked_up_within(pg_rt, worker, 3)
    finally:
        worker.request_stop()
        await asyncio.wait_for(task, 10)


async def test_a_batch_inserted_by_copy_wakes_the_worker_too(pg_rt):
    worker = pg_rt.worker(queues=["test_default"], lead=False)
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(_listening(worker), 10)
        assert await _picked_up_within(pg_rt, worker, 5, batch=COPY_FROM_ROWS)  # COPY fires the trigger too
    finally:
        worker.request_stop()
        await asyncio.wait_for(task, 10)


async def _listening(worker):
    while worker.listener is None or not worker.listener.connected.is_set():
        await asyncio.sleep(0.02)


async def _reconnected(worker):
    while worker.listener.reconnects < 1 or not worker.listener.connected.is_set():
        await asyncio.sleep(0.02)
