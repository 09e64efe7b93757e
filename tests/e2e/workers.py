"""Starting real ``remit worker`` processes for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REMIT = str(Path(sys.executable).with_name("remit"))


def clean_env(db_url: str) -> dict[str, str]:
    """This process's environment without any remit or Stripe setting, pointed at ``db_url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REMIT_", "STRIPE_")) and k != "DATABASE_URL"}
    env.update(DATABASE_URL=db_url, PYTHONPATH=str(ROOT))
    return env


def worker_env(db_url: str, **extra: str) -> dict[str, str]:
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
    return subprocess.Popen(
        [REMIT, "worker", "--import", "tests.support.jobs", *args],
        cwd=ROOT,
        env=worker_env(db_url, **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@contextmanager
def workers(db_url: str, count: int, *args: str, **env: str) -> Iterator[list[subprocess.Popen[bytes]]]:
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
