"""The database goes away under a real ``remit up`` taking steady webhook load, then comes back: no restart.

- PostgreSQL: the service's connections are terminated (``pg_terminate_backend``) a few times, then its
  database refuses connections (``ALTER DATABASE … ALLOW_CONNECTIONS false`` and a last termination) for a
  while, then accepts them again.
- SQLite: the database file and its folder are made unwritable for a while, then restored. Permissions bind
  root only without ``CAP_DAC_OVERRIDE``: when the tests run as root the service runs under ``setpriv`` with
  that capability (and ``CAP_DAC_READ_SEARCH``) dropped from its bounding set, so it meets the fault exactly as
  a service running as its own user does. Connections opened before the fault keep their file handles and
  still write (so on this machine every delivery was accepted, durably, and ``/health`` — which asks whether a
  new connection could write — says ``down``); any connection opened during the fault is read-only, and before
  the fix stayed so for good (tests/integration/test_database_recovery.py proves the reopening directly).

Checked in each: every delivery answered 2xx or 503 with ``Retry-After`` (never a 500); deliveries refused are
sent again, as the processor does; every accepted event is processed exactly once (a host handler writes one
row per committed dispatch); no job is left ``executing``; ``/health`` says ``down`` during the fault and
``ok`` within seconds after it; the same process served throughout. ``REMIT_FAULT_SECONDS`` lengthens the
outage (default 4 s here; the issue's reproduction used 10 to 12 s).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from remit.clock import system_clock
from remit.db import migrate
from remit.db.engine import create_sync_engine
from remit.db.tables import jobs, webhook_events
from tests.support import postgres
from tests.support.fault_host import CREATE_EVENT_RUNS, event_runs
from tests.support.processes import READY, REMIT, START_TIMEOUT_S, Lines, free_port, remit_env, stop
from tests.support.webhooks import SECRET, WEBHOOK_PATH, event, sign

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
FAULT_SECONDS = float(os.environ.get("REMIT_FAULT_SECONDS", "4"))
#: Deliveries per second while the test runs (the issue's reproduction used 50; two shared cores here), from
#: several senders at once, so the service's connection pool grows — and opens connections during the fault.
RATE = 30.0
SENDERS = 6
#: How soon after the fault ends everything must be well again.
RECOVERY_S = 20.0


@dataclass
class Load:
    """Signed deliveries at :data:`RATE` from a thread, and ``/health`` polled beside them."""

    base_url: str
    accepted: set[str] = field(default_factory=set)
    refused: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    health: list[tuple[float, float, str]] = field(default_factory=list)  # (asked, answered, status)
    refused_during: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def deliver(self, client: httpx.Client, event_id: str) -> None:
        body = json.dumps(event("remit.test.ping", event_id=event_id, obj={"id": event_id, "object": "ping"}))
        headers = {"Stripe-Signature": sign(body, system_clock, SECRET), "Content-Type": "application/json"}
        try:
            response = client.post(WEBHOOK_PATH, content=body.encode(), headers=headers, timeout=15)
        except httpx.HTTPError as exc:
            self.wrong.append(f"{event_id}: {type(exc).__name__}")
            return
        if response.status_code < 300:
            self.accepted.add(event_id)
        elif response.status_code == 503 and response.headers.get("Retry-After"):
            self.refused.append(event_id)
        else:
            self.wrong.append(f"{event_id}: {response.status_code} {response.text[:200]}")

    def run(self) -> None:
        rate = RATE / SENDERS
        with httpx.Client(base_url=self.base_url) as client:
            sent = 0
            started = time.monotonic()
            while not self._stop.is_set():
                self.deliver(client, f"evt_{uuid.uuid4().hex}")
                sent += 1
                time.sleep(max(0.0, started + sent / rate - time.monotonic()))

    def watch_health(self) -> None:
        with httpx.Client(base_url=self.base_url) as client:
            while not self._stop.wait(0.25):
                asked = time.monotonic()
                status = self.poll_health(client)
                self.health.append((asked, time.monotonic(), status))

    def poll_health(self, client: httpx.Client) -> str:
        try:
            status: str = client.get("/health", timeout=10).json()["status"]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            return type(exc).__name__
        return status

    @contextmanager
    def running(self) -> Iterator[Load]:
        threads = [threading.Thread(target=self.run, daemon=True) for _ in range(SENDERS)]
        threads.append(threading.Thread(target=self.watch_health, daemon=True))
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            for thread in threads:
                thread.join(30)

    def redeliver_refused(self) -> None:
        """Send again every delivery that was refused, until each is accepted (as the processor retries)."""
        self.refused_during = len(self.refused)
        with httpx.Client(base_url=self.base_url) as client:
            deadline = time.monotonic() + RECOVERY_S
            while self.refused and time.monotonic() < deadline:
                waiting, self.refused = self.refused, []
                for event_id in waiting:
                    self.deliver(client, event_id)
                if self.refused:
                    time.sleep(0.5)
        assert not self.refused, f"{len(self.refused)} deliveries still refused {RECOVERY_S}s after the fault"


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``predicate`` until true; the seconds it took (fails after ``timeout``)."""
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, f"not {what} within {timeout}s"
        time.sleep(0.2)
    return time.monotonic() - started


def health_status(base_url: str) -> str:
    try:
        status: str = httpx.get(f"{base_url}/health", timeout=10).json()["status"]
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        return type(exc).__name__
    return status


def prepare(db_url: str) -> None:
    engine = create_sync_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        migrate.upgrade(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql(CREATE_EVENT_RUNS)
    finally:
        engine.dispose()


def fault_env(db_url: str) -> dict[str, str]:
    return remit_env(
        db_url,
        REMIT_ENV="test",
        STRIPE_WEBHOOK_SECRET=SECRET,
        REMIT_JOB_MODULES="tests.support.fault_host",
        REMIT_QUEUES="test_default:5",
        REMIT_JOB_LEASE_SECONDS="8",
        REMIT_JOB_HEARTBEAT_INTERVAL="0.5",
        REMIT_HEALTH_CACHE_SECONDS="0.5",
        REMIT_LOG_LEVEL="WARNING",
    )


@contextmanager
def service(db_url: str, cwd: Path, prefix: list[str]) -> Iterator[tuple[str, int, Callable[[], int | None]]]:
    """``remit up`` on a free port (under ``prefix``); (its URL, its pid, its exit code so far)."""
    proc = subprocess.Popen(
        [*prefix, REMIT, "up", "--port", str(free_port())],
        cwd=cwd,
        env=fault_env(db_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    out, err = Lines(proc.stdout), Lines(proc.stderr)
    try:
        base_url = out.wait_for(READY, START_TIMEOUT_S).group(1)
        wait_until(lambda: health_status(base_url) == "ok", 30, "healthy at start")
        yield base_url, proc.pid, proc.poll
        assert stop(proc) == 0, err.rest()[-20:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def check_outcome(db_url: str, load: Load, fault: tuple[float, float], base_url: str) -> dict[str, float]:
    """After the fault: every accepted event processed exactly once, nothing executing, /health honest."""
    assert not load.wrong, load.wrong[:5]
    engine = create_sync_engine(db_url, poolclass=sa.pool.NullPool)
    accepted = set(load.accepted)

    def all_processed() -> bool:
        with engine.connect() as conn:
            done = conn.execute(
                sa.select(sa.func.count()).select_from(webhook_events).where(webhook_events.c.status == "processed")
            ).scalar_one()
        return int(done) >= len(accepted)

    def nothing_executing() -> bool:
        with engine.connect() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(jobs).where(jobs.c.state == "executing"))
            return int(count.scalar_one()) == 0

    try:
        processed_s = wait_until(all_processed, RECOVERY_S, "every accepted event processed")
        # A dispatch whose handlers committed may still be writing its job's outcome (held and retried by the
        # worker after the fault): the job must leave `executing` within the same window, not at this instant.
        wait_until(nothing_executing, RECOVERY_S, "no job executing")
        with engine.connect() as conn:
            stored = dict(conn.execute(sa.select(webhook_events.c.event_id, webhook_events.c.status)).all())
            runs = conn.execute(sa.select(event_runs.c.event_id, sa.func.count()).group_by(event_runs.c.event_id)).all()
            executing = conn.execute(
                sa.select(sa.func.count()).select_from(jobs).where(jobs.c.state == "executing")
            ).scalar_one()
    finally:
        engine.dispose()
    assert set(stored) == accepted  # a 2xx always had its row; a 503 never left one behind unanswered
    assert set(stored.values()) == {"processed"}
    assert dict(runs) == dict.fromkeys(accepted, 1)  # exactly once
    assert executing == 0
    start, end = fault
    # Polls asked and answered while the fault lasted (after the health cache and a first probe had their time),
    # and polls asked once everything was processed again.
    during = [status for asked, answered, status in load.health if start + 1.5 <= asked and answered <= end]
    after = [status for asked, _, status in load.health if asked > end + processed_s + 2]
    assert during, "no /health poll during the fault"
    assert set(during) == {"down"}, during
    assert health_status(base_url) == "ok"
    assert set(after) <= {"ok"}, after
    return {"processed_after_s": round(processed_s, 1), "accepted": len(accepted), "refused": load.refused_during}


def test_postgresql_terminated_then_refused_connections_recover_without_a_restart(tmp_path: Path) -> None:
    with postgres.new_database("remit_fault") as url:
        db_url = url.render_as_string(hide_password=False)
        prepare(db_url)
        admin = create_sync_engine(postgres.admin_url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        database = url.database

        def terminate() -> None:
            with admin.connect() as conn:
                conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
                )

        def allow(allowed: bool) -> None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')

        try:
            with service(db_url, tmp_path, []) as (base_url, pid, exited):
                with Load(base_url).running() as load:
                    time.sleep(1.5)
                    for _ in range(3):
                        terminate()
                        time.sleep(0.7)
                    start = time.monotonic()
                    allow(False)
                    terminate()
                    time.sleep(FAULT_SECONDS)
                    end = time.monotonic()
                    allow(True)
                    healthy_s = wait_until(lambda: health_status(base_url) == "ok", RECOVERY_S, "ok after the fault")
                    time.sleep(2.5)
                load.redeliver_refused()
                figures = check_outcome(db_url, load, (start, end), base_url)
                assert exited() is None
            print(f"postgresql: healthy {healthy_s:.1f}s after the fault; {figures}; pid {pid} throughout")
        finally:
            allow(True)
            admin.dispose()


def _unprivileged_prefix() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions would not bind the service")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]


def test_sqlite_file_unwritable_for_a_while_recovers_without_a_restart(tmp_path: Path) -> None:
    prefix = _unprivileged_prefix()
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "remit.db"
    db_url = f"sqlite:///{path}"
    prepare(db_url)
    with service(db_url, tmp_path, prefix) as (base_url, pid, exited):
        with Load(base_url).running() as load:
            time.sleep(1.5)
            start = time.monotonic()
            path.chmod(0o444)
            folder.chmod(0o555)
            try:
                time.sleep(FAULT_SECONDS)
            finally:
                end = time.monotonic()
                folder.chmod(0o755)
                path.chmod(0o644)
            healthy_s = wait_until(lambda: health_status(base_url) == "ok", RECOVERY_S, "ok after the fault")
            time.sleep(2.5)
        load.redeliver_refused()
        figures = check_outcome(db_url, load, (start, end), base_url)
        assert exited() is None
    print(f"sqlite: healthy {healthy_s:.1f}s after the fault; {figures}; pid {pid} throughout")
