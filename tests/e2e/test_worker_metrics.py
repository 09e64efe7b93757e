"""A real ``remit worker`` with ``--metrics-port`` serves its own counters, which move when it runs a job, and
no gauge: the database-derived gauges come from ``remit serve``, never from N workers."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from remit.jobs.engine import Engine
from remit.telemetry.metrics import REGISTRY
from tests.support import jobs as J
from tests.support.processes import workers

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def scrape(url: str, procs, timeout: float = 30.0) -> str:
    """The worker's /metrics text, waiting for it to listen (failing at once if the worker died)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2.0) as client:
        while True:
            for proc in procs:
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            try:
                response = await client.get(url)
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the worker's /metrics never answered"
                await asyncio.sleep(0.1)
                continue
            assert response.status_code == 200
            return response.text


def sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return float(found.value)
    return 0.0


async def job_state(database, job_id: int) -> str:
    async with database.connect() as conn:
        return str((await conn.execute(sa.text(f"SELECT state FROM remit_jobs WHERE id = {job_id}"))).scalar_one())


async def test_a_worker_serves_its_job_counters_and_no_database_gauge(database, db_url):
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    with workers(db_url, 1, "--queues", "test_default", "--metrics-port", str(port)) as procs:
        before = await scrape(url, procs)
        assert sample(before, "remit_jobs_executed_total", queue="test_default", outcome="completed") == 0

        async with database.begin() as conn:
            job_id = await Engine(database).enqueue(conn, J.noop, {})
        assert job_id is not None
        deadline = time.monotonic() + 30
        while await job_state(database, job_id) != "completed":
            assert time.monotonic() < deadline, "the worker never ran the job"
            await asyncio.sleep(0.1)

        after = await scrape(url, procs)

    assert sample(after, "remit_jobs_executed_total", queue="test_default", outcome="completed") == 1
    assert sample(after, "remit_job_run_seconds_count", queue="test_default") == 1
    served = {found.name for family in text_string_to_metric_families(after) for found in family.samples}
    assert "remit_periodic_runs_total" in served  # the leader's own runs of the engine's maintenance
    database_gauges = {family.name for family in REGISTRY.collect() if family.type == "gauge"}
    assert {"remit_queue_jobs", "remit_workers_alive", "remit_webhook_events"} <= database_gauges
    assert served & database_gauges == set()
