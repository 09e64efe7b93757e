"""LISTEN/NOTIFY wakes workers on PostgreSQL, and survives its connection being dropped."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
import sqlalchemy as sa

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


async def _picked_up_within(rt, worker, seconds):
    before = worker.outcomes["completed"]
    async with rt.db.begin() as conn:
        await rt.engine.enqueue(conn, J.noop, {})
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if worker.outcomes["completed"] > before:
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


async def _listening(worker):
    while worker.listener is None or not worker.listener.connected.is_set():
        await asyncio.sleep(0.02)


async def _reconnected(worker):
    while worker.listener.reconnects < 1 or not worker.listener.connected.is_set():
        await asyncio.sleep(0.02)
