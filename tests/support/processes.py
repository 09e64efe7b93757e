"""Real ``remit`` processes for the end-to-end tests: their environments, starting and stopping them, reading
what they print, and running the CLI as an operator would.

``remit up``/``serve`` run through :func:`remit_process` (its output read line by line through :class:`Lines`,
the service's address from the :data:`READY` line); ``remit worker`` through :func:`start_worker` /
:func:`workers`; one-off commands through :func:`cli`.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TypeVar

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
REMIT = str(Path(sys.executable).with_name("remit"))
#: The line ``remit up`` / ``remit serve`` prints once it answers; group 1 is its base URL.
READY = re.compile(r"remit is up \(.*\) on (http://\S+)")
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
#: The read-API token :func:`sandbox_env` gives the service.
SANDBOX_TOKEN = "e2e-demo-token"
#: At most this many commands at once in :func:`side_by_side`: the machine has 2 cores, and each command is
#: mostly imports.
SIDE_BY_SIDE = 3

T = TypeVar("T")


def clean_env(db_url: str) -> dict[str, str]:
    """This process's environment without any remit or Stripe setting, pointed at ``db_url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REMIT_", "STRIPE_")) and k != "DATABASE_URL"}
    env.update(DATABASE_URL=db_url, PYTHONPATH=str(ROOT))
    return env


def worker_env(db_url: str, **extra: str) -> dict[str, str]:
    """A ``remit worker``'s environment: short leases and polls, the test queues, ``extra`` on top."""
    env = clean_env(db_url)
    env.update(
        REMIT_JOB_LEASE_SECONDS="2",
        REMIT_JOB_HEARTBEAT_INTERVAL="0.3",
        REMIT_JOB_POLL_INTERVAL="0.2",
        REMIT_JOB_SHUTDOWN_GRACE="5",
        REMIT_QUEUES="test_default:50,test_cron:5",
        REMIT_LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def start_worker(db_url: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
    """``remit worker`` running the test jobs (:mod:`tests.support.jobs`)."""
    return subprocess.Popen(
        [REMIT, "worker", "--import", "tests.support.jobs", *args],
        cwd=ROOT,
        env=worker_env(db_url, **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@contextmanager
def workers(db_url: str, count: int, *args: str, **env: str) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` workers for the ``with`` block, stopped with SIGTERM (killed after 20 s) at its end."""
    procs = [start_worker(db_url, *args, **env) for _ in range(count)]
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def free_port() -> int:
    """A loopback port free right now (nothing listens on it until a test starts something there)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dead_url() -> str:
    """A loopback URL nothing listens on."""
    return f"http://127.0.0.1:{free_port()}"


def wait_for_port(port: int, timeout: float) -> None:
    """Block until something accepts connections on ``port``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port} after {timeout}s")


class Lines:
    """The lines a process writes to one pipe, readable with a timeout (a reader thread feeds a queue)."""

    def __init__(self, pipe: IO[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(pipe,), daemon=True).start()

    def _pump(self, pipe: IO[str]) -> None:
        for line in pipe:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: re.Pattern[str] | str, timeout: float) -> re.Match[str]:
        """Block until a line matches ``pattern``; fail at EOF or after ``timeout`` seconds."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line matching {regex.pattern!r} in {timeout}s: {self.seen[-20:]}") from None
            if line is None:
                raise AssertionError(f"stream ended before {regex.pattern!r}: {self.seen[-20:]}")
            self.seen.append(line)
            match = regex.search(line)
            if match:
                return match

    def rest(self, timeout: float = 5.0) -> list[str]:
        """Every remaining line up to EOF (the process has exited)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
        return self.seen


def remit_env(db_url: str, **extra: str) -> dict[str, str]:
    """``remit up``'s environment for the job tests: JSON logs, the test jobs and a short poll interval."""
    env = clean_env(db_url)
    env.update(
        PYTHONUNBUFFERED="1",
        REMIT_LOG_FORMAT="json",
        REMIT_JOB_MODULES="tests.support.jobs",
        REMIT_QUEUES="test_default:5",
        REMIT_JOB_POLL_INTERVAL="0.2",
        REMIT_JOB_HEARTBEAT_INTERVAL="0.5",
        REMIT_JOB_SHUTDOWN_GRACE="5",
    )
    env.update(extra)
    return env


def sandbox_env(db_url: str) -> dict[str, str]:
    """What ``./scripts/run`` gives ``remit up``: remit's defaults (no host modules, so the sandbox plays the
    host), plus a read-API token (:data:`SANDBOX_TOKEN`) for the checks."""
    env = clean_env(db_url)
    env.update(PYTHONUNBUFFERED="1", REMIT_LOG_FORMAT="json", REMIT_SERVICE_TOKENS=SANDBOX_TOKEN)
    return env


@contextmanager
def remit_process(*args: str, env: dict[str, str], cwd: Path) -> Iterator[tuple[subprocess.Popen[str], Lines, Lines]]:
    """``remit *args`` running, with its stdout and stderr as :class:`Lines`; killed if still running at exit."""
    proc = subprocess.Popen(
        [REMIT, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    try:
        yield proc, Lines(proc.stdout), Lines(proc.stderr)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=STOP_TIMEOUT_S)


def stop(proc: subprocess.Popen[str]) -> int:
    """SIGTERM, then the exit code within :data:`STOP_TIMEOUT_S` (fails if it takes longer)."""
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=STOP_TIMEOUT_S)


def cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``remit *args`` run to its end, its output captured."""
    return subprocess.run([REMIT, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def side_by_side(*calls: Callable[[], T]) -> list[T]:
    """The results of ``calls``, run at the same time (a few at once), in the order given."""
    with ThreadPoolExecutor(max_workers=SIDE_BY_SIDE) as pool:
        return [future.result() for future in [pool.submit(call) for call in calls]]


def metric_value(text: str, name: str, labels: dict[str, str] | None = None) -> float | None:
    """The sample ``name`` (with at least ``labels``) in the exposition ``text``, or None if it is not there."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and (labels is None or all(sample.labels.get(k) == v for k, v in labels.items())):
                return float(sample.value)
    return None
