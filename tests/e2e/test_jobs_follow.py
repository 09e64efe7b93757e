"""``remit jobs follow`` as a real process, following a job a real ``remit worker`` process runs, on SQLite
(polling) and PostgreSQL (LISTEN/NOTIFY across processes: the follower polls once an hour)."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from queue import Empty, Queue

import pytest

from remit.jobs.engine import Engine
from tests.support import jobs as J
from tests.support.processes import REMIT, ROOT, start_worker, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def _lines(stream, into: Queue) -> None:  # type: ignore[no-untyped-def]
    for line in iter(stream.readline, b""):
        into.put(json.loads(line))
    into.put(None)


async def test_follow_sees_each_step_of_a_job_another_process_runs(database, db_url, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    async with database.begin() as conn:
        job_id = await Engine(database).enqueue(conn, J.stepped, {"steps": 3, "gate_dir": str(gate)})
    poll = "3600" if database.is_postgres else "0.05"
    follower = subprocess.Popen(
        [REMIT, "jobs", "follow", str(job_id), "--json", "--poll", poll],
        cwd=ROOT,
        env=worker_env(db_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    lines: Queue = Queue()
    threading.Thread(target=_lines, args=(follower.stdout, lines), daemon=True).start()
    worker = start_worker(db_url)
    try:
        first = lines.get(timeout=60)
        assert first["id"] == job_id
        for step in (1, 2, 3):
            (gate / f"step-{step}").touch()
            while True:
                try:
                    seen = lines.get(timeout=60)
                except Empty:
                    pytest.fail(f"step {step} never reached the follower: {follower.stderr.read().decode()[-2000:]}")
                assert seen is not None, follower.stderr.read().decode()[-2000:]
                if seen["done"] == step:
                    break
        assert follower.wait(timeout=60) == 0
        assert seen["total"] == 3
    finally:
        for proc in (worker, follower):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=20)
