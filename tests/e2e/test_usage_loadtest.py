"""``remit usage loadtest`` against a real ``remit worker`` process, on SQLite and PostgreSQL: every event
of the run is stored once, reported by the worker, counted once in the rollups, and the figures printed;
a production configuration is refused without ``--yes`` and nothing is written."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest
import sqlalchemy as sa

from tests.e2e.test_up import READY, START_TIMEOUT_S, remit_process
from tests.e2e.workers import REMIT, ROOT, clean_env

pytestmark = pytest.mark.slow


def _env(db_url: str, **extra: str) -> dict[str, str]:
    env = clean_env(db_url)
    env.update(REMIT_ENV="development", REMIT_LOG_LEVEL="WARNING", REMIT_JOB_POLL_INTERVAL="0.2", **extra)
    return env


def _count(db_url: str, sql: str, **params: object) -> int:
    engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(sql), params).scalar_one() or 0)
    finally:
        engine.dispose()


def test_a_small_load_test_runs_through_a_real_worker(db_url):
    worker = subprocess.Popen(
        [REMIT, "worker", "--queues", "remit_meters,remit_usage"],
        cwd=ROOT,
        env=_env(db_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        done = subprocess.run(
            [
                REMIT,
                "usage",
                "loadtest",
                "--customers",
                "3",
                "--days",
                "2",
                "--events-per-day",
                "20",
                "--batch",
                "50",
                "--timeout",
                "240",
                "--json",
            ],
            cwd=ROOT,
            env=_env(db_url),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert worker.poll() is None, worker.stderr.read().decode()[-2000:] if worker.stderr else ""
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    figures = json.loads(done.stdout)
    assert figures["finished"] is True
    assert figures["events"] == 120
    assert figures["states"] == {"pending": 0, "reported": 120, "failed": 0}
    assert figures["duplicates"] == 0
    assert figures["report_per_s"] > 0
    assert figures["end_to_end_per_s"] > 0
    assert 0 <= figures["lag_p50_s"] <= figures["lag_p95_s"] <= figures["lag_max_s"]
    assert set(figures["peak_queue_depths"]) == {"remit_meters", "remit_usage"}
    assert figures["queue_depths"] == {"remit_meters": 0, "remit_usage": 0}
    prefix = f"loadtest-{figures['run']}-%"
    assert _count(db_url, "SELECT count(*) FROM remit_meter_events WHERE operation_id LIKE :p", p=prefix) == 120
    # Every event counted once in the daily rollups of the run's customers (the worker ran the rollup).
    rolled = _count(
        db_url,
        "SELECT sum(events) FROM remit_usage_rollups WHERE resolution = 'daily' AND customer_id IN "
        "(SELECT DISTINCT customer_id FROM remit_meter_events WHERE operation_id LIKE :p)",
        p=prefix,
    )
    assert rolled == 120
    # The processor counted each event once: the fake's meter events carry the operation ids as identifiers.
    counted = _count(db_url, "SELECT count(*) FROM remit_fake_objects WHERE id LIKE :p", p=f"mevt_{prefix}")
    assert counted == 120


def test_the_load_test_reports_through_the_http_api_of_a_running_remit_up(db_url, tmp_path):
    """``--api``: every batch goes through ``POST /api/v1/usage`` of a real ``remit up`` (API and workers in
    one process), with the bearer token from REMIT_SERVICE_TOKENS."""
    env = _env(db_url, REMIT_SERVICE_TOKENS="loadtest-token-0123456789abcdef")
    env.pop("REMIT_QUEUES", None)
    with remit_process("up", "--port", "0", env=env, cwd=tmp_path) as (proc, out, _err):
        base_url = out.wait_for(READY, START_TIMEOUT_S).group(1)
        done = subprocess.run(
            [
                *(REMIT, "usage", "loadtest", "--customers", "2", "--days", "1", "--events-per-day", "25"),
                *("--batch", "20", "--api", base_url, "--timeout", "240", "--json"),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        proc.send_signal(signal.SIGTERM)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    figures = json.loads(done.stdout)
    assert figures["finished"] is True
    assert figures["states"] == {"pending": 0, "reported": 50, "failed": 0}
    prefix = f"loadtest-{figures['run']}-%"
    assert _count(db_url, "SELECT count(*) FROM remit_meter_events WHERE operation_id LIKE :p", p=prefix) == 50


def test_a_production_configuration_is_refused_without_yes(db_url):
    env = _env(db_url, REMIT_PROCESSOR="stripe", STRIPE_API_KEY="sk_live_" + "x" * 24, STRIPE_WEBHOOK_SECRET="whsec_x")
    done = subprocess.run(
        [REMIT, "usage", "loadtest", "--customers", "1", "--days", "1", "--events-per-day", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "refusing to load-test a production configuration (a live Stripe key)" in done.stdout + done.stderr
    assert "--yes" in done.stdout + done.stderr
    assert "sk_live_" not in done.stdout + done.stderr
    assert _count(db_url, "SELECT count(*) FROM remit_meter_events") == 0
