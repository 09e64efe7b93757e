"""Procrastinate's half of ``bench/jobs.py``: run by the benchmark's own virtual environment, never by remit's.

Procrastinate is installed only for the benchmark (``bench/.venv-procrastinate``), so this module imports
nothing from remit and nothing from ``bench/jobs.py``. Given a fresh, empty database it

1. applies Procrastinate's schema (``app.schema_manager.apply_schema_async()``),
2. defers N no-op jobs with ``Task.batch_defer_async`` in chunks (timed, but the enqueue speed is reported
   only for information: the benchmark compares workers), then runs ``ANALYZE procrastinate_jobs`` as
   ``bench/jobs.py`` does for remit's table (without statistics the planner sorts every pending job on each
   fetch, and the worker slows down with the queue's length: not a steady state worth measuring),
3. runs ONE worker (``app.run_worker_async(wait=False, concurrency=C)``) that returns once the queue is
   empty and its running jobs have finished — the measured interval is that call,
4. counts ``succeeded`` rows in ``procrastinate_jobs`` and prints one JSON object as its last line.

The worker runs under uvloop when it is installed (the benchmark installs it), as remit's worker does, and
its connection pool is sized for the concurrency (psycopg_pool's default of 4 connections would throttle
any concurrency above 4 and make the comparison unfair to Procrastinate).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Coroutine
from importlib.metadata import version
from typing import Any

import procrastinate

QUEUE = "bench"
DEFER_CHUNK = 1000


def build_app(url: str, concurrency: int) -> procrastinate.App:
    """An app with one no-op task, over a pool big enough for ``concurrency`` jobs plus the worker's own
    connections (LISTEN, heartbeat, abort polling). Jobs hold a connection only to record their end, and
    fetching is sequential, so more than 20 for jobs would only crowd the server."""
    pool_size = min(concurrency, 20) + 3
    connector = procrastinate.PsycopgConnector(conninfo=url, min_size=min(pool_size, 10), max_size=pool_size)
    app = procrastinate.App(connector=connector)

    @app.task(name="bench.noop", queue=QUEUE)
    async def noop(n: int) -> None:
        return None

    return app


async def measure(url: str, jobs: int, concurrency: int, *, analyze: bool = True) -> dict[str, Any]:
    app = build_app(url, concurrency)
    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        task = app.tasks["bench.noop"]

        started = time.perf_counter()
        for first in range(0, jobs, DEFER_CHUNK):
            await task.batch_defer_async(*({"n": i} for i in range(first, min(first + DEFER_CHUNK, jobs))))
        defer_seconds = time.perf_counter() - started
        if analyze:
            async with app.connector.pool.connection() as conn:
                await conn.execute("ANALYZE procrastinate_jobs")

        started = time.perf_counter()
        await app.run_worker_async(
            queues=[QUEUE],
            concurrency=concurrency,
            wait=False,
            install_signal_handlers=False,
            listen_notify=True,
        )
        seconds = time.perf_counter() - started

        async with app.connector.pool.connection() as conn, conn.cursor() as cur:
            await cur.execute("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status")
            states = {str(status): int(n) for status, n in await cur.fetchall()}
    return {
        "system": "procrastinate",
        "version": version("procrastinate"),
        "jobs": jobs,
        "concurrency": concurrency,
        "defer_seconds": defer_seconds,
        "seconds": seconds,
        "succeeded": states.get("succeeded", 0),
        "states": states,
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
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--no-analyze", action="store_true", help="start the worker without table statistics")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = _run(measure(args.url, args.jobs, args.concurrency, analyze=not args.no_analyze))
    print(json.dumps(result))
    return 0 if result["succeeded"] == args.jobs else 1


if __name__ == "__main__":
    sys.exit(main())
