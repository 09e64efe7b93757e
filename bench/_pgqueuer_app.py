"""pgqueuer's half of ``bench/jobs.py``: run by the benchmark's own virtual environment, never by remit's.

pgqueuer is installed only for the benchmark (``bench/.venv-pgqueuer``, with asyncpg and uvloop), so this
module imports nothing from remit and nothing from ``bench/jobs.py``. Given a fresh, empty database it

1. installs pgqueuer's schema with its default (and most durable) policy, ``Durability.durable``: every
   table logged, as remit's are,
2. enqueues N no-op jobs with ``Queries.enqueue`` (its batch form: lists of entrypoints, payloads and
   priorities, one statement per chunk of ``--enqueue-chunk``, the same chunk remit gets) — timed, with the
   heap built so far frozen as for remit's, the ``pgqueuer_enqueue_per_s`` figure — then runs ``ANALYZE``
   on its queue table, as ``bench/jobs.py`` does for remit's,
3. runs ONE worker: a ``QueueManager`` on one asyncpg connection (its benchmark's fastest driver), in
   ``drain`` mode (it returns once the queue is empty and its running jobs have finished), with
   ``--batch`` jobs per dequeue (the completion log buffer is sized by the same number) — the measured
   interval is that call,
4. checks that the entrypoint ran exactly N times, that the queue table is empty and that the log holds N
   ``successful`` rows, and prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import sys
import time
from collections.abc import Coroutine
from importlib.metadata import version
from typing import Any

import asyncpg
from pgqueuer import Job, QueueManager
from pgqueuer.db import AsyncpgDriver
from pgqueuer.queries import Queries
from pgqueuer.types import QueueExecutionMode

ENTRYPOINT = "bench.noop"


async def enqueue(url: str, jobs: int, chunk: int) -> float:
    """Install the schema, enqueue ``jobs`` no-op jobs in chunks; the seconds the enqueueing took."""
    conn = await asyncpg.connect(url)
    try:
        queries = Queries(AsyncpgDriver(conn))
        await queries.install()
        gc.collect()  # the heap so far frozen during the measured enqueue, as bench/jobs.py does for remit's
        gc.freeze()
        started = time.perf_counter()
        for first in range(0, jobs, chunk):
            size = min(chunk, jobs - first)
            ids = await queries.enqueue(
                [ENTRYPOINT] * size, [str(i).encode() for i in range(first, first + size)], [0] * size
            )
            if len(ids) != size:
                raise RuntimeError(f"enqueue returned {len(ids)} ids for {size} jobs")
        seconds = time.perf_counter() - started
        gc.unfreeze()
        await conn.execute("ANALYZE pgqueuer")
        return seconds
    finally:
        await conn.close()


async def work(url: str, jobs: int, batch: int) -> tuple[float, int]:
    """One QueueManager draining the queue; the seconds it ran and how many times the job ran."""
    calls = 0
    conn = await asyncpg.connect(url)
    try:
        qm = QueueManager(Queries(AsyncpgDriver(conn)))

        @qm.entrypoint(ENTRYPOINT)
        async def noop(job: Job) -> None:
            nonlocal calls
            calls += 1

        started = time.perf_counter()
        await qm.run(batch_size=batch, mode=QueueExecutionMode.drain)
        return time.perf_counter() - started, calls
    finally:
        await conn.close()


async def count(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        queued = int(await conn.fetchval("SELECT count(*) FROM pgqueuer"))
        rows = await conn.fetch("SELECT status::text AS status, count(*) AS n FROM pgqueuer_log GROUP BY status")
        states = {str(row["status"]): int(row["n"]) for row in rows}
        return {"queued": queued, **{f"log_{k}": v for k, v in states.items()}}
    finally:
        await conn.close()


async def measure(url: str, jobs: int, batch: int, chunk: int) -> dict[str, Any]:
    enqueue_seconds = await enqueue(url, jobs, chunk)
    seconds, calls = await work(url, jobs, batch)
    counts = await count(url)
    return {
        "system": "pgqueuer",
        "version": version("pgqueuer"),
        "jobs": jobs,
        "batch": batch,
        "enqueue_seconds": enqueue_seconds,
        "seconds": seconds,
        "calls": calls,
        "succeeded": counts.get("log_successful", 0),
        "counts": counts,
    }


def _run(coro: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - the benchmark installs it
        return asyncio.run(coro)
    return uvloop.run(coro)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", required=True, help="a fresh, empty PostgreSQL database (libpq URL)")
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--enqueue-chunk", type=int, default=5000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = _run(measure(args.url, args.jobs, args.batch, args.enqueue_chunk))
    print(json.dumps(result))
    ok = result["calls"] == args.jobs and result["succeeded"] == args.jobs and result["counts"]["queued"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
