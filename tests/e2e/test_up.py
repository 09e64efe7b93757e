"""``remit up`` and ``remit serve`` as real processes: start, answer, run jobs, stop cleanly on SIGTERM."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from remit.db.engine import Database, create_sync_engine
from remit.db.tables import jobs
from remit.jobs.engine import Engine
from tests.support import jobs as support_jobs
from tests.support.processes import (
    READY,
    REMIT,
    START_TIMEOUT_S,
    free_port,
    metric_value,
    remit_env,
    remit_process,
    stop,
)

pytestmark = pytest.mark.slow


def wait_until_completed(db_url: str, job_id: int, timeout: float, proc: subprocess.Popen[str]) -> str:
    engine = create_sync_engine(db_url, poolclass=sa.pool.NullPool)
    deadline = time.monotonic() + timeout
    state = "missing"
    try:
        while time.monotonic() < deadline:
            assert proc.poll() is None, "remit up exited while a job was pending"
            with engine.connect() as conn:
                state = conn.execute(sa.select(jobs.c.state).where(jobs.c.id == job_id)).scalar_one()
            if state == "completed":
                break
            time.sleep(0.1)
    finally:
        engine.dispose()
    return state


def enqueue_record_job(db_url: str) -> int:
    engine = create_sync_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(support_jobs.CREATE_RUNS)
            job_id = Engine(Database.from_url(db_url)).enqueue_sync(conn, support_jobs.record, {})
    finally:
        engine.dispose()
    assert isinstance(job_id, int)
    return job_id


def test_up_migrates_serves_runs_jobs_and_stops_cleanly_on_sigterm(any_db_url: str, tmp_path: Path) -> None:
    port = free_port()
    with remit_process("up", "--port", str(port), env=remit_env(any_db_url), cwd=tmp_path) as (proc, out, err):
        base_url = out.wait_for(READY, START_TIMEOUT_S).group(1)
        assert base_url == f"http://127.0.0.1:{port}"
        out.wait_for(r"/metrics", 5)

        deadline = time.monotonic() + 15  # ok once the worker in this process has heartbeated
        while True:
            health = httpx.get(f"{base_url}/health", timeout=5)
            assert health.status_code == 200
            body = health.json()
            if body["status"] == "ok" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert body["service"] == "remit"
        assert body["status"] == "ok", body
        assert body["checks"] == {
            name: {"status": "ok"}
            for name in (
                "database",
                "migrations",
                "workers",
                "queues",
                "billing",
                "emergency_stop",
                "processor_credentials",
            )
        }
        assert {"timestamp", "version"} <= set(body)

        # The worker in the same process runs a job enqueued from outside.
        job_id = enqueue_record_job(any_db_url)
        assert wait_until_completed(any_db_url, job_id, 30, proc) == "completed"

        metrics = httpx.get(f"{base_url}/metrics", timeout=5)
        assert metrics.status_code == 200
        assert metric_value(metrics.text, "remit_workers_alive") == 1.0
        assert (
            metric_value(metrics.text, "remit_jobs_executed_total", {"queue": "test_default", "outcome": "completed"})
            == 1.0
        )
        assert (
            metric_value(
                metrics.text, "remit_http_request_duration_seconds_count", {"route": "/health", "status": "2xx"}
            )
            == 1.0
        )
        assert metric_value(metrics.text, "remit_queue_jobs", {"queue": "test_default", "state": "completed"}) == 1.0

        assert stop(proc) == 0
        logs = err.rest()
    assert any('"stop requested"' in line and "SIGTERM" in line for line in logs)
    assert any('"worker stopped"' in line for line in logs)
    # An empty SQLite file is migrated (and says so); the session's PostgreSQL database is at head already,
    # and a migration that changes nothing is not logged as one.
    migrated = any('"database migrated"' in line for line in logs)
    assert migrated is any_db_url.startswith("sqlite")


def test_serve_runs_the_api_without_a_worker(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    subprocess.run([REMIT, "migrate"], env=remit_env(url), cwd=tmp_path, check=True, capture_output=True)
    with remit_process("serve", "--port", "0", env=remit_env(url), cwd=tmp_path) as (proc, out, _err):
        base_url = out.wait_for(READY, START_TIMEOUT_S).group(1)
        assert httpx.get(f"{base_url}/health", timeout=5).status_code == 200
        metrics = httpx.get(f"{base_url}/metrics", timeout=5).text
        assert metric_value(metrics, "remit_workers_alive") == 0.0
        assert stop(proc) == 0


def test_up_gives_up_on_an_unreachable_database_with_one_line_per_try(tmp_path: Path) -> None:
    env = remit_env("postgresql://remit@127.0.0.1:1/remit", REMIT_DB_CONNECT_TIMEOUT="2")
    started = time.monotonic()
    result = subprocess.run(
        [REMIT, "up", "--port", str(free_port())], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3
    assert time.monotonic() - started < 30
    tries = [line for line in result.stderr.splitlines() if "database not reachable (try" in line]
    assert len(tries) >= 2
    numbers = [int(match.group(1)) for line in tries if (match := re.search(r"try (\d+)", line))]
    assert numbers == list(range(1, len(tries) + 1))
    assert "giving up" in result.stderr.splitlines()[-1]
    assert "remit is up" not in result.stdout


def test_sigterm_while_waiting_for_the_database_exits_zero(tmp_path: Path) -> None:
    env = remit_env("postgresql://remit@127.0.0.1:1/remit", REMIT_DB_CONNECT_TIMEOUT="60")
    with remit_process("up", "--port", str(free_port()), env=env, cwd=tmp_path) as (proc, _out, err):
        err.wait_for("database not reachable", START_TIMEOUT_S)
        assert stop(proc) == 0


def test_a_second_up_on_a_busy_port_says_so_before_migrating(tmp_path: Path) -> None:
    database = tmp_path / "busy.db"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [REMIT, "up", "--port", str(port)],
            env=remit_env(f"sqlite:///{database}"),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert "remit is up" not in result.stdout
    assert f"port {port} in use on 127.0.0.1; pass --port" in result.stderr
    assert '"database migrated"' not in result.stderr
    assert not database.exists()  # it stopped before migrating


def test_up_on_port_zero_delivers_its_fake_webhooks_to_itself(tmp_path: Path) -> None:
    """``--port 0`` binds before the runtime is composed, so with REMIT_URL unset the fake in this process
    posts its webhooks to the port it got, never to the default port (where another remit may listen)."""
    url = f"sqlite:///{tmp_path / 'zero.db'}"
    token = "port-zero-token-0123456789abcdef"
    env = remit_env(url, REMIT_SERVICE_TOKENS=token)
    assert "REMIT_URL" not in env
    with remit_process("up", "--port", "0", env=env, cwd=tmp_path) as (proc, out, _err):
        base_url = out.wait_for(READY, START_TIMEOUT_S).group(1)
        created = httpx.post(
            f"{base_url}/api/v1/billing/customers",
            json={"metadata": {"test": "port-zero"}},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "port-zero-1"},
            timeout=30,
        )
        assert created.status_code == 200, created.text
        customer = created.json()["id"]
        # The mirror learns of a customer only from the processor's webhook, which came back to this remit.
        deadline = time.monotonic() + 30
        mirrored = None
        while time.monotonic() < deadline:
            mirrored = httpx.get(
                f"{base_url}/api/v1/billing/customers/{customer}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=5,
            )
            if mirrored.status_code == 200:
                break
            time.sleep(0.2)
        found = mirrored is not None and mirrored.status_code == 200
        assert found, "the fake's customer.created never reached this remit"
        assert stop(proc) == 0
