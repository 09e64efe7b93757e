"""``remit usage loadtest`` against a real ``remit worker`` process, on SQLite and PostgreSQL: every event
of the run is stored once, reported by the worker, counted once in the rollups, and the figures printed;
with ``--invoices`` against a real ``remit up`` the fake processor's webhooks reach it at ``REMIT_URL`` and
every subscription's invoice is mirrored and processed; a ``REMIT_URL`` that is not this remit is refused at
once, not after minutes of timed-out deliveries; a production configuration is refused without ``--yes``
and nothing is written.

Every process here gets a ``REMIT_URL`` of its own: the default (127.0.0.1:8000) may be another remit on a
shared machine, which would receive this test's webhooks."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from tests.support.processes import READY, REMIT, ROOT, START_TIMEOUT_S, clean_env, free_port, remit_process

pytestmark = pytest.mark.slow


def _env(db_url: str, **extra: str) -> dict[str, str]:
    env = clean_env(db_url)
    # A port nothing listens on unless a test says otherwise: deliveries fail at once, and never reach a
    # stranger's remit on the default port.
    env.update(
        REMIT_ENV="development",
        REMIT_LOG_LEVEL="WARNING",
        REMIT_JOB_POLL_INTERVAL="0.2",
        REMIT_URL=f"http://127.0.0.1:{free_port()}",
    )
    env.update(extra)
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
    port = free_port()
    env = _env(db_url, REMIT_SERVICE_TOKENS="loadtest-token-0123456789abcdef", REMIT_URL=f"http://127.0.0.1:{port}")
    env.pop("REMIT_QUEUES", None)
    with remit_process("up", "--port", str(port), env=env, cwd=tmp_path) as (proc, out, _err):
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


def test_invoices_flow_back_through_the_webhooks_of_a_running_remit_up(db_url, tmp_path):
    """``--invoices`` end to end: a real ``remit up`` (API and workers) at ``REMIT_URL`` receives the fake
    processor's webhooks for the load test's customers and subscriptions, mirrors each first invoice and runs
    its jobs, while the run's usage is reported and rolled up; the load test waits for all of it."""
    port = free_port()
    env = _env(db_url, REMIT_URL=f"http://127.0.0.1:{port}")
    started = time.monotonic()
    with remit_process("up", "--port", str(port), env=env, cwd=tmp_path) as (proc, out, _err):
        out.wait_for(READY, START_TIMEOUT_S)
        done = subprocess.run(
            [
                *(REMIT, "usage", "loadtest", "--customers", "3", "--days", "1", "--events-per-day", "10"),
                *("--batch", "10", "--invoices", "--timeout", "120", "--json"),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        proc.send_signal(signal.SIGTERM)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    figures = json.loads(done.stdout)
    assert figures["finished"] is True, figures
    assert figures["waiting_for"] == ""
    assert figures["states"] == {"pending": 0, "reported": 30, "failed": 0}
    assert (figures["subscriptions"], figures["invoices"]) == (3, 3)
    assert figures["webhooks"]["failed"] == 0
    assert figures["webhooks"]["delivered"] >= 3 * 5  # customer, card, subscription, invoice, payment events
    assert figures["queue_depths"] == {"remit_meters": 0, "remit_usage": 0, "remit_webhooks": 0, "remit_invoices": 0}
    # Mirrored (the database is this test's own): the customers, their subscriptions and each subscription's
    # first invoice, paid.
    assert _count(db_url, "SELECT count(*) FROM remit_customers") == 3
    assert _count(db_url, "SELECT count(*) FROM remit_subscriptions") == 3
    paid = _count(
        db_url,
        "SELECT count(*) FROM remit_invoices WHERE status = 'paid' "
        "AND subscription_id IN (SELECT stripe_id FROM remit_subscriptions)",
    )
    assert paid == 3
    # Processed: every webhook event the setup sent was handled, and no invoice job is left waiting.
    assert _count(db_url, "SELECT count(*) FROM remit_webhook_events WHERE processed_at IS NULL") == 0
    assert _count(db_url, "SELECT count(*) FROM remit_webhook_events WHERE type = 'invoice.paid'") == 3
    assert (
        _count(
            db_url,
            "SELECT count(*) FROM remit_jobs WHERE queue IN ('remit_webhooks', 'remit_invoices') "
            "AND state NOT IN ('completed', 'cancelled')",
        )
        == 0
    )
    assert time.monotonic() - started < 120


@contextmanager
def _answering_200() -> Iterator[str]:
    """A receiver that answers every POST 200 and keeps nothing: not a remit on the test's database."""

    class Ok(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("receiver", ["nothing", "another"])
def test_invoices_are_refused_at_once_when_remit_url_is_not_this_remit(db_url, receiver):
    """The stall seen once: with REMIT_URL not this remit, each of the fake's deliveries failed (or went
    elsewhere) one by one while the setup waited, minutes in all, and the run still said finished with no
    invoice mirrored. Now the first customer's events are checked: refused, naming the URL, before any
    subscription is made."""
    with _answering_200() as other:
        url = other if receiver == "another" else f"http://127.0.0.1:{free_port()}"
        started = time.monotonic()
        done = subprocess.run(
            [
                *(REMIT, "usage", "loadtest", "--customers", "5", "--days", "1", "--events-per-day", "1"),
                *("--invoices", "--inline", "--timeout", "60"),
            ],
            cwd=ROOT,
            env=_env(db_url, REMIT_URL=url),
            capture_output=True,
            text=True,
            timeout=120,
        )
    said = done.stdout + done.stderr
    assert done.returncode != 0, said[-2000:]
    assert time.monotonic() - started < 60
    if receiver == "nothing":
        assert f"do not reach this remit: customer.created to {url}/webhooks/stripe failed (ConnectError" in said
    else:
        assert f"{url}/webhooks/stripe took the fake processor's webhooks" in said
        assert "not in this database" in said
    assert "REMIT_URL" in said
    # One customer made, no subscription and no usage.
    assert _count(db_url, "SELECT count(*) FROM remit_fake_objects WHERE object = 'customer'") == 1
    assert _count(db_url, "SELECT count(*) FROM remit_fake_objects WHERE object = 'subscription'") == 0
    assert _count(db_url, "SELECT count(*) FROM remit_meter_events") == 0


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
