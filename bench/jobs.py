"""Job-engine benchmark: no-op jobs through ONE worker process, remit against pgqueuer, the bare SQL loop,
Procrastinate and pgbench.

Run ``.venv/bin/python bench/jobs.py``. It prints a table, then as its last line one JSON object with the keys
``remit_jobs_per_s``, ``procrastinate_jobs_per_s``, ``pgbench_tps``, ``remit_enqueue_per_s``,
``sqlite_jobs_per_s``, ``pgqueuer_jobs_per_s``, ``pgqueuer_enqueue_per_s`` and ``bare_loop_jobs_per_s``
(``null`` for a part skipped or failed; the exit status is 1 when a part failed). bench/README.md says how
each is measured.

What is measured, and how
-------------------------
The PostgreSQL server is ``REMIT_BENCH_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``),
used only as the admin connection: every measured system gets a database of its own, created for the run and
dropped afterwards (``remit_bench_<pid>_<part>``), so no run sees another's bloat. Before each measured phase
the server is asked for a ``CHECKPOINT`` so that no part pays for the previous part's dirty pages.

remit (PostgreSQL)
    The fresh database is migrated, then N no-op jobs (default 20,000) are enqueued with
    ``Engine.enqueue_many`` (the job engine's seam; binary ``COPY`` for such batches) in chunks of
    ``--enqueue-chunk`` rows, one committed transaction per chunk, with the heap built so far frozen (as remit's
    API and worker processes freeze theirs at start; pgqueuer's side does the same): ``remit_enqueue_per_s`` is
    N / seconds spent enqueueing (building the requests included). The
    table is then ANALYZEd (see "Statistics" below) and ONE worker process (this file with ``--child
    remit``, under uvloop) runs ``remit.jobs.worker.Worker`` (``runtime.worker()``) over
    the queue ``bench`` (concurrency ``--concurrency``, claim batch ``--batch``, not leading: no cron or
    maintenance in the measured interval). The interval runs from the worker's start until its
    ``outcomes["completed"]`` — counted after each completion batch commits — reaches N. Before reporting,
    the child checks that the job function ran exactly N times and that the database holds N rows, every
    one ``completed`` at attempt 1. ``remit_jobs_per_s`` is N / interval.
    A remit run takes about a second, short enough for a burst of other work on a shared machine to halve
    it, so it is repeated ``--repeat`` times (default 3), each on a fresh database, and the median run is
    reported (the note gives the spread); Procrastinate's minute-long run averages such bursts out itself.
SQLite
    The same on a migrated temporary file (also the median of ``--repeat`` runs): ``sqlite_jobs_per_s``.
Procrastinate
    The latest release from PyPI, installed only for the benchmark into ``bench/.venv-procrastinate`` (made
    if missing, with psycopg and uvloop; ``--upgrade-procrastinate`` refreshes it). ``bench/_procrastinate_app.py``
    runs in that environment: it applies Procrastinate's schema to a fresh database, defers N no-op jobs with
    ``batch_defer_async``, ANALYZEs its table and times one ``run_worker_async(wait=False, concurrency=C)``,
    which returns when the queue is empty, then counts the ``succeeded`` rows. Procrastinate's worker is
    given its best concurrency: each of ``--procrastinate-concurrency`` (default 1, 10, 50) is first probed
    on ``--probe-jobs`` jobs in a fresh database, and the full N runs at the fastest.
pgbench
    ``pgbench -i -s 10`` on a fresh database, then ``pgbench -N -T 10 -c 8 -j 2``: the tps without connection
    time is what the server commits in small transactions of a few single-row statements, the reference
    the issue sets.
Statistics
    Every queue table is ANALYZEd between enqueueing and the worker's start, the same for each system. A
    table filled in one burst has no statistics until autovacuum's next round, and without them
    PostgreSQL's planner sorts all pending jobs on every fetch: Procrastinate, which fetches one job per
    query, then slows down with the length of the queue (about 36 jobs/s instead of a few hundred for
    20,000 jobs on this machine). ``--no-analyze`` shows that cold-start case.

pgqueuer and the bare loop
    See bench/README.md and ``bench/_pgqueuer_app.py``: pgqueuer in its own venv (``bench/.venv-pgqueuer``),
    durable tables, asyncpg, one worker, the same batch; the loop on remit's own table, one connection.

Targets (issue 7): remit ≥ 2 times pgqueuer and ≥ 0.5 times the bare loop; enqueue ≥ 1.5 times pgqueuer's;
SQLite ≥ 10,000 jobs/s. Still reported (issue 2): remit ≥ 20 times Procrastinate and ≥ pgbench tps; enqueue
≥ 20,000 jobs/s. Figures depend on what else the machine runs: on a shared 2-core machine,
compare the ratios of one run rather than absolute figures across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import sqlalchemy as sa
import uvloop
from sqlalchemy.engine import URL, Engine, make_url

from remit.config import Settings
from remit.db import migrate
from remit.db.engine import Database, create_sync_engine
from remit.jobs.context import JobContext
from remit.jobs.definition import job
from remit.jobs.engine import Engine as JobEngine
from remit.jobs.rows import JobRequest
from remit.part import Part
from remit.runtime import Runtime

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
BENCH_DIR = Path(__file__).resolve().parent
PROCRASTINATE_VENV = BENCH_DIR / ".venv-procrastinate"
PROCRASTINATE_APP = BENCH_DIR / "_procrastinate_app.py"
PROCRASTINATE_PACKAGES = ["procrastinate", "psycopg[binary]", "uvloop"]
PGQUEUER_VENV = BENCH_DIR / ".venv-pgqueuer"
PGQUEUER_APP = BENCH_DIR / "_pgqueuer_app.py"
PGQUEUER_PACKAGES = ["pgqueuer", "asyncpg", "uvloop"]
QUEUE = "bench"
CHILD_TIMEOUT = 900.0  # seconds; a stuck worker fails the part instead of hanging the run

TARGET_VS_PROCRASTINATE = 20.0
TARGET_ENQUEUE_PER_S = 20_000.0
TARGET_SQLITE_PER_S = 10_000.0
TARGET_VS_PGQUEUER = 2.0
TARGET_VS_BARE_LOOP = 0.5
TARGET_ENQUEUE_VS_PGQUEUER = 1.5

T = TypeVar("T")

#: How often this process ran the no-op job: the child checks it equals N (each job ran exactly once).
CALLS: Counter[str] = Counter()


@job(queue=QUEUE, name="bench.noop")
async def noop(ctx: JobContext, **_: Any) -> None:
    CALLS["noop"] += 1


@dataclass(frozen=True)
class Measure:
    """One line of the table: ``count`` things (jobs, transactions) in ``seconds``."""

    system: str
    count: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0


class BenchFailure(Exception):
    """A part of the benchmark did not do what it measured (a job lost, a tool missing, a child crashed)."""


# -- PostgreSQL databases ------------------------------------------------------------------------------------


def admin_url() -> URL:
    return make_url(os.environ.get("REMIT_BENCH_DATABASE_URL", DEFAULT_ADMIN_URL)).set(drivername="postgresql")


def render(url: URL) -> str:
    """A plain ``postgresql://`` URL, as remit's settings, libpq and Procrastinate all accept it."""
    return url.render_as_string(hide_password=False)


def admin_engine() -> Engine:
    return create_sync_engine(admin_url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


@contextlib.contextmanager
def fresh_database(part: str) -> Iterator[URL]:
    """A new, empty database on the bench server for one part of the run, dropped afterwards."""
    name = f"remit_bench_{os.getpid()}_{part}"
    engine = admin_engine()
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield admin_url().set(database=name)
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


def checkpoint() -> None:
    """Flush the server's dirty pages now, so that a part does not pay for the previous part's writes.
    Best effort: a role without the right to CHECKPOINT just skips it."""
    engine = admin_engine()
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CHECKPOINT")
    except sa.exc.DBAPIError:
        pass
    finally:
        engine.dispose()


# -- remit: enqueue in this process, work in a child ---------------------------------------------------------


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await factory()

    return uvloop.run(main())


async def enqueue_jobs(url: str, jobs: int, chunk: int) -> float:
    """Enqueue ``jobs`` no-op jobs in committed chunks; the seconds it took."""
    db = Database.from_url(url)
    engine = JobEngine(db)
    try:
        async with db.begin() as conn:  # connect (and warm the pool) outside the measured interval
            await conn.execute(sa.text("SELECT 1"))
        with frozen_heap():
            started = time.perf_counter()
            for first in range(0, jobs, chunk):
                requests = [JobRequest(noop, {"n": i}) for i in range(first, min(first + chunk, jobs))]
                async with db.begin() as conn:
                    ids = await engine.enqueue_many(conn, requests)
                if len(ids) != len(requests):
                    raise BenchFailure(f"enqueue_many inserted {len(ids)} of {len(requests)} jobs")
            return time.perf_counter() - started
    finally:
        await db.dispose()


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """The measured enqueue runs with the heap left so far frozen, as remit's API and worker processes freeze
    theirs at start (and pgqueuer's side does the same around its enqueue): otherwise a full collection that
    the new requests happen to trigger walks everything this harness imported and migrated with (tens of
    milliseconds, in an interval of a few hundred), and the figure measures this process's heap, not the
    enqueue path."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def migrate_database(url: str) -> None:
    engine = create_sync_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()


def run_child(command: list[str], what: str) -> dict[str, Any]:
    """Run a measuring child process; its last stdout line is its JSON result."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise BenchFailure(f"{what}: the child process ran past {CHILD_TIMEOUT:g}s") from None
    lines = done.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        result = {}
    if done.returncode != 0 or not result:
        tail = "\n".join((done.stderr.strip().splitlines() or ["(no stderr)"])[-15:])
        raise BenchFailure(f"{what}: child exited {done.returncode}; result {result or 'missing'}\n{tail}")
    return result


def analyze(url: str) -> None:
    """Give the planner statistics of the filled table, as autovacuum would before long in production."""
    engine = create_sync_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE remit_jobs")
    finally:
        engine.dispose()


def remit_part(label: str, url: str, args: argparse.Namespace) -> tuple[Measure, Measure]:
    """Migrate, enqueue (measured) and work (measured, in one child worker process) on ``url``."""
    migrate_database(url)
    enqueue_seconds = run_async(lambda: enqueue_jobs(url, args.jobs, args.enqueue_chunk))
    if not args.no_analyze:
        analyze(url)
    if url.startswith("postgresql"):
        checkpoint()
    result = run_child(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            "remit",
            "--url",
            url,
            "--jobs",
            str(args.jobs),
            "--batch",
            str(args.batch),
            "--concurrency",
            str(args.concurrency),
        ],
        f"remit worker on {label}",
    )
    cpu = float(result["cpu_seconds"]) / float(result["seconds"])
    note = f"1 worker, concurrency {args.concurrency}, batch {args.batch}, worker CPU {cpu:.0%} of its interval"
    return (
        Measure(f"remit enqueue ({label})", args.jobs, enqueue_seconds, f"enqueue_many, {args.enqueue_chunk}/txn"),
        Measure(f"remit worker ({label})", args.jobs, float(result["seconds"]), note),
    )


async def child_remit(url: str, jobs: int, batch: int, concurrency: int) -> dict[str, Any]:
    """The measuring worker process: run one Worker until N completions have committed, then verify."""
    settings = Settings.model_validate(
        {
            "DATABASE_URL": url,
            "REMIT_ENV": "test",
            "REMIT_LOG_LEVEL": "WARNING",
            "REMIT_QUEUES": f"{QUEUE}:{concurrency}",
            "REMIT_JOB_BATCH_SIZE": batch,
        }
    )
    runtime = Runtime.from_settings(settings, parts=[Part("bench", jobs=(noop,))])
    gc.freeze()  # as `remit worker` does before its worker starts (src/remit/cli/jobs.py)
    worker = runtime.worker(queues=[QUEUE], lead=False)
    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        running = asyncio.create_task(worker.run())
        deadline = started + CHILD_TIMEOUT
        while worker.outcomes["completed"] < jobs:
            if running.done():
                running.result()  # re-raises what stopped the worker
                raise BenchFailure("the worker stopped before completing every job")
            if sum(worker.outcomes.values()) >= jobs or time.perf_counter() > deadline:
                raise BenchFailure(f"the worker did not complete every job: {dict(worker.outcomes)}")
            await asyncio.sleep(0.002)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        worker.request_stop()
        await running
        async with runtime.db.begin() as conn:
            row = (
                await conn.execute(
                    sa.text(
                        "SELECT count(*), "
                        "coalesce(sum(CASE WHEN state = 'completed' AND attempt = 1 THEN 1 ELSE 0 END), 0) "
                        "FROM remit_jobs WHERE queue = :queue"
                    ),
                    {"queue": QUEUE},
                )
            ).one()
    finally:
        await runtime.close()
    total, completed_once = int(row[0]), int(row[1])
    if total != jobs or completed_once != jobs or CALLS["noop"] != jobs:
        raise BenchFailure(
            f"expected {jobs} jobs completed once: {total} rows, {completed_once} completed at attempt 1, "
            f"{CALLS['noop']} calls"
        )
    return {
        "system": "remit",
        "dialect": runtime.db.dialect,
        "jobs": jobs,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "completed_rows": completed_once,
        "calls": CALLS["noop"],
        "outcomes": dict(worker.outcomes),
    }


# -- Procrastinate -------------------------------------------------------------------------------------------


def bench_python(venv: Path, packages: list[str], probe_import: str, upgrade: bool) -> Path:
    """A benchmark-only environment ``venv`` with ``packages`` in it (latest releases), made or refreshed
    when needed. A peer is never a dependency of remit: it lives in its own git-ignored venv."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", f"import {probe_import}"]
    ready = python.exists() and subprocess.run(probe, capture_output=True, check=False).returncode == 0
    if ready and not upgrade:
        return python
    if not python.exists():
        print(f"creating {venv.relative_to(BENCH_DIR.parent)} ...", flush=True)
        base = shutil.which("python3") or sys.executable
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
    print(f"installing the latest {' '.join(packages)} ...", flush=True)
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--upgrade", *packages],
        capture_output=True,
        text=True,
        check=False,
    )
    if install.returncode != 0:
        raise BenchFailure(f"pip install {' '.join(packages)} failed:\n{install.stderr[-2000:]}")
    return python


def procrastinate_python(upgrade: bool) -> Path:
    return bench_python(PROCRASTINATE_VENV, PROCRASTINATE_PACKAGES, "procrastinate, psycopg, uvloop", upgrade)


def procrastinate_run(python: Path, part: str, jobs: int, concurrency: int, no_analyze: bool) -> dict[str, Any]:
    with fresh_database(part) as url:
        checkpoint()
        return run_child(
            [
                str(python),
                str(PROCRASTINATE_APP),
                "--url",
                render(url),
                "--jobs",
                str(jobs),
                "--concurrency",
                str(concurrency),
                *(["--no-analyze"] if no_analyze else []),
            ],
            f"procrastinate worker (concurrency {concurrency})",
        )


def procrastinate_part(args: argparse.Namespace) -> tuple[Measure, list[Measure]]:
    """Probe each concurrency on a few jobs, then run the full N at the fastest."""
    python = procrastinate_python(args.upgrade_procrastinate)
    levels = [int(v) for v in args.procrastinate_concurrency.split(",") if v.strip()]
    probes: list[Measure] = []
    best = levels[0]
    if len(levels) > 1:
        for level in levels:
            result = procrastinate_run(python, f"procrastinate_c{level}", args.probe_jobs, level, args.no_analyze)
            probes.append(
                Measure(
                    f"  probe procrastinate c={level}", args.probe_jobs, float(result["seconds"]), "probe, not reported"
                )
            )
        best = levels[max(range(len(levels)), key=lambda i: probes[i].rate)]
    result = procrastinate_run(python, "procrastinate", args.jobs, best, args.no_analyze)
    note = f"v{result['version']}, 1 worker, concurrency {best}"
    return Measure("procrastinate worker", args.jobs, float(result["seconds"]), note), probes


# -- pgqueuer ------------------------------------------------------------------------------------------------


def pgqueuer_part(args: argparse.Namespace) -> tuple[Measure, Measure]:
    """pgqueuer in its own venv and database: enqueue (measured) and one worker draining (measured)."""
    python = bench_python(PGQUEUER_VENV, PGQUEUER_PACKAGES, "pgqueuer, asyncpg, uvloop", args.upgrade_pgqueuer)
    with fresh_database("pgqueuer") as url:
        result = run_child(
            [
                str(python),
                str(PGQUEUER_APP),
                "--url",
                render(url),
                "--jobs",
                str(args.jobs),
                "--batch",
                str(args.batch),
                "--enqueue-chunk",
                str(args.enqueue_chunk),
            ],
            "pgqueuer worker",
        )
    note = f"v{result['version']}, durable tables, asyncpg, 1 worker, batch {args.batch}"
    return (
        Measure("pgqueuer enqueue", args.jobs, float(result["enqueue_seconds"]), f"{args.enqueue_chunk}/statement"),
        Measure("pgqueuer worker", args.jobs, float(result["seconds"]), note),
    )


# -- the bare SQL loop: the limit ----------------------------------------------------------------------------

#: The loop's claim: remit's (same table, same partial index, same order, SKIP LOCKED), without the pause check.
BARE_CLAIM = (
    "UPDATE remit_jobs SET state = 'executing', attempt = attempt + 1, attempted_at = now(), "
    "attempted_by = 'bare' WHERE id = ANY(ARRAY("
    "SELECT id FROM remit_jobs WHERE queue = %(queue)s AND state IN ('available', 'scheduled', 'retryable') "
    "AND scheduled_at <= now() ORDER BY priority, scheduled_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)) "
    "RETURNING id, attempt"
)
BARE_COMPLETE = (
    "UPDATE remit_jobs SET state = 'completed', finished_at = now() "
    "WHERE id = ANY(%(ids)s) AND attempt = 1 AND state = 'executing'"
)


def bare_loop_run(url: str, jobs: int, batch: int) -> float:
    """Claim ``batch`` jobs, complete them, repeat until none is left: one connection, autocommit (two
    committed transactions per batch), no job function — what the server gives a client that does nothing
    else. The seconds it took; every row is checked completed afterwards."""
    with psycopg.connect(url, autocommit=True) as conn:
        done = 0
        started = time.perf_counter()
        while True:
            ids = [row[0] for row in conn.execute(BARE_CLAIM, {"queue": QUEUE, "limit": batch}, prepare=True)]
            if not ids:
                break
            done += conn.execute(BARE_COMPLETE, {"ids": ids}, prepare=True).rowcount
        seconds = time.perf_counter() - started
        left = conn.execute("SELECT count(*) FROM remit_jobs WHERE state <> 'completed'").fetchone()
    if done != jobs or left is None or left[0] != 0:
        raise BenchFailure(f"bare loop completed {done} of {jobs} jobs, {left} rows not completed")
    return seconds


def bare_loop_part(args: argparse.Namespace) -> Measure:
    """remit's schema in a fresh database, N jobs enqueued (not measured), ANALYZEd, then the bare loop."""
    with fresh_database("bare") as url:
        plain = render(url)
        migrate_database(plain)
        run_async(lambda: enqueue_jobs(plain, args.jobs, args.enqueue_chunk))
        analyze(plain)
        checkpoint()
        seconds = bare_loop_run(plain, args.jobs, args.bare_batch)
    note = f"claim {args.bare_batch} / complete {args.bare_batch}, 1 connection, remit's table"
    return Measure("bare SQL loop (limit)", args.jobs, seconds, note)


# -- pgbench -------------------------------------------------------------------------------------------------


def pgbench_part(seconds: int) -> tuple[Measure, float]:
    pgbench = shutil.which("pgbench") or "/usr/bin/pgbench"
    if not Path(pgbench).exists():
        raise BenchFailure("pgbench is not installed (apt-get install postgresql-client)")
    with fresh_database("pgbench") as url:
        connection = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
        env = {**os.environ, **({"PGPASSWORD": str(url.password)} if url.password else {})}
        init = subprocess.run(
            [pgbench, *connection, "-i", "-s", "10", "-q", str(url.database)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if init.returncode != 0:
            raise BenchFailure(f"pgbench -i failed:\n{init.stderr[-2000:]}")
        checkpoint()
        bench = subprocess.run(
            [pgbench, *connection, "-N", "-T", str(seconds), "-c", "8", "-j", "2", str(url.database)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    found = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", bench.stdout)
    if bench.returncode != 0 or not found:
        raise BenchFailure(f"pgbench -N failed:\n{bench.stdout[-1000:]}\n{bench.stderr[-1000:]}")
    tps = float(found.group(1))
    note = "8 clients, 2 threads, -s 10 (transactions, not jobs)"
    return Measure("pgbench -N", round(tps * seconds), float(seconds), note), tps


# -- the report ----------------------------------------------------------------------------------------------


def median(runs: list[tuple[Measure, Measure]], index: int) -> Measure:
    """The run with the median rate (the lower middle for an even count), its note saying of how many."""
    ordered = sorted((run[index] for run in runs), key=lambda m: m.rate)
    chosen = ordered[(len(ordered) - 1) // 2]
    if len(ordered) == 1:
        return chosen
    spread = f"{ordered[0].rate:,.0f}..{ordered[-1].rate:,.0f}/s"
    return replace(chosen, note=f"{chosen.note}; median of {len(ordered)} ({spread})")


def verdict(value: float | None, target: float | None) -> str:
    if value is None or target is None:
        return "n/a"
    return "met" if value >= target else "NOT met"


def print_report(rows: list[Measure], figures: dict[str, float | None], failures: list[str]) -> None:
    width = max([len(r.system) for r in rows] + [24])
    print()
    print(f"{'system':<{width}}  {'jobs':>8}  {'seconds':>8}  {'per s':>10}  note")
    print("-" * (width + 60))
    for r in rows:
        print(f"{r.system:<{width}}  {r.count:>8}  {r.seconds:>8.2f}  {r.rate:>10,.0f}  {r.note}")
    remit, procrastinate, pgbench, pgqueuer, bare = (
        figures[k]
        for k in (
            "remit_jobs_per_s",
            "procrastinate_jobs_per_s",
            "pgbench_tps",
            "pgqueuer_jobs_per_s",
            "bare_loop_jobs_per_s",
        )
    )
    enqueue, pgqueuer_enqueue, sqlite = (
        figures[k] for k in ("remit_enqueue_per_s", "pgqueuer_enqueue_per_s", "sqlite_jobs_per_s")
    )
    print()
    for label, a, b in (
        ("remit / pgqueuer", remit, pgqueuer),
        ("remit / bare loop", remit, bare),
        ("remit / procrastinate", remit, procrastinate),
        ("remit / pgbench tps", remit, pgbench),
        ("enqueue remit / pgqueuer", enqueue, pgqueuer_enqueue),
    ):
        if a and b:
            print(f"{label:<26} = {a / b:,.2f}x")
    print()

    def times(value: float | None, factor: float) -> float | None:
        return value * factor if value else None

    targets = [
        (f"remit >= {TARGET_VS_PGQUEUER:g} x pgqueuer", verdict(remit, times(pgqueuer, TARGET_VS_PGQUEUER))),
        (f"remit >= {TARGET_VS_BARE_LOOP:g} x bare loop", verdict(remit, times(bare, TARGET_VS_BARE_LOOP))),
        (
            f"enqueue >= {TARGET_ENQUEUE_VS_PGQUEUER:g} x pgqueuer's",
            verdict(enqueue, times(pgqueuer_enqueue, TARGET_ENQUEUE_VS_PGQUEUER)),
        ),
        (
            f"remit >= {TARGET_VS_PROCRASTINATE:g} x procrastinate",
            verdict(remit, times(procrastinate, TARGET_VS_PROCRASTINATE)),
        ),
        ("remit >= pgbench tps", verdict(remit, pgbench)),
        (f"enqueue >= {TARGET_ENQUEUE_PER_S:,.0f}/s", verdict(enqueue, TARGET_ENQUEUE_PER_S)),
        (f"sqlite >= {TARGET_SQLITE_PER_S:,.0f}/s", verdict(sqlite, TARGET_SQLITE_PER_S)),
    ]
    print("targets:")
    for label, outcome in targets:
        print(f"  {label:<32} {outcome}")
    for failure in failures:
        print(f"FAILED: {failure}")
    print(json.dumps({k: (round(v, 1) if v is not None else None) for k, v in figures.items()}), flush=True)


def run_bench(args: argparse.Namespace) -> int:
    rows: list[Measure] = []
    failures: list[str] = []
    figures: dict[str, float | None] = dict.fromkeys(
        [
            "remit_jobs_per_s",
            "procrastinate_jobs_per_s",
            "pgbench_tps",
            "remit_enqueue_per_s",
            "sqlite_jobs_per_s",
            "pgqueuer_jobs_per_s",
            "pgqueuer_enqueue_per_s",
            "bare_loop_jobs_per_s",
        ]
    )

    def attempt(what: str, part: Callable[[], None]) -> None:
        print(f"running {what} ...", flush=True)
        try:
            part()
        except (BenchFailure, sa.exc.SQLAlchemyError, OSError, subprocess.CalledProcessError) as exc:
            failures.append(f"{what}: {exc}")

    def remit_pg() -> None:
        runs = []
        for i in range(args.repeat):
            with fresh_database(f"remit{i}" if i else "remit") as url:
                runs.append(remit_part("postgresql", render(url), args))
        enqueue, work = median(runs, 0), median(runs, 1)
        rows.extend([enqueue, work])
        figures["remit_enqueue_per_s"], figures["remit_jobs_per_s"] = enqueue.rate, work.rate

    def remit_sqlite() -> None:
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="remit_bench_") as tmp:
                runs.append(remit_part("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args))
        enqueue, work = median(runs, 0), median(runs, 1)
        rows.extend([enqueue, work])
        figures["sqlite_jobs_per_s"] = work.rate

    def pgqueuer() -> None:
        runs = [pgqueuer_part(args) for _ in range(args.repeat)]
        enqueue, work = median(runs, 0), median(runs, 1)
        rows.extend([enqueue, work])
        figures["pgqueuer_enqueue_per_s"], figures["pgqueuer_jobs_per_s"] = enqueue.rate, work.rate

    def bare_loop() -> None:
        runs = [(m, m) for m in (bare_loop_part(args) for _ in range(args.repeat))]
        work = median(runs, 0)
        rows.append(work)
        figures["bare_loop_jobs_per_s"] = work.rate

    def procrastinate() -> None:
        measure, probes = procrastinate_part(args)
        rows.extend([*probes, measure])
        figures["procrastinate_jobs_per_s"] = measure.rate

    def pgbench() -> None:
        measure, tps = pgbench_part(args.pgbench_seconds)
        rows.append(measure)
        figures["pgbench_tps"] = tps

    attempt("remit on PostgreSQL", remit_pg)
    if not args.skip_pgqueuer:
        attempt("pgqueuer", pgqueuer)
    if not args.skip_bare_loop:
        attempt("the bare SQL loop", bare_loop)
    if not args.skip_sqlite:
        attempt("remit on SQLite", remit_sqlite)
    if not args.skip_procrastinate:
        attempt("procrastinate", procrastinate)
    if not args.skip_pgbench:
        attempt(f"pgbench -N for {args.pgbench_seconds}s", pgbench)
    print_report(rows, figures, failures)
    return 1 if failures else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="remit's job-engine benchmark (see the module docstring)")
    parser.add_argument("--jobs", type=int, default=20_000, help="no-op jobs per system (default 20000)")
    parser.add_argument("--batch", type=int, default=500, help="remit claim batch, REMIT_JOB_BATCH_SIZE (500)")
    parser.add_argument("--concurrency", type=int, default=2000, help="remit queue concurrency (2000)")
    parser.add_argument("--enqueue-chunk", type=int, default=5000, help="jobs per enqueue_many transaction (5000)")
    parser.add_argument(
        "--procrastinate-concurrency",
        default="1,10,50",
        help="comma-separated concurrencies to probe; one value skips the probes (1,10,50)",
    )
    parser.add_argument("--probe-jobs", type=int, default=1000, help="jobs per procrastinate probe (1000)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="measure remit this many times, each on a fresh database, and report the median (3)",
    )
    parser.add_argument("--pgbench-seconds", type=int, default=10, help="pgbench -T (10)")
    parser.add_argument("--bare-batch", type=int, default=100, help="jobs per claim in the bare SQL loop (100)")
    parser.add_argument("--skip-pgqueuer", action="store_true")
    parser.add_argument("--skip-bare-loop", action="store_true")
    parser.add_argument("--skip-procrastinate", action="store_true")
    parser.add_argument("--skip-pgbench", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="start every worker without table statistics (not the reported setting)",
    )
    parser.add_argument(
        "--upgrade-procrastinate",
        action="store_true",
        help="pip install --upgrade procrastinate in its venv before measuring",
    )
    parser.add_argument(
        "--upgrade-pgqueuer",
        action="store_true",
        help="pip install --upgrade pgqueuer in its venv before measuring",
    )
    parser.add_argument("--child", choices=["remit"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.jobs, args.batch, args.concurrency, args.enqueue_chunk, args.repeat, args.bare_batch) < 1:
        parser.error("--jobs, --batch, --concurrency, --enqueue-chunk, --repeat and --bare-batch must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child == "remit":
        result = run_async(lambda: child_remit(args.url, args.jobs, args.batch, args.concurrency))
        print(json.dumps(result), flush=True)
        return 0
    return run_bench(args)


if __name__ == "__main__":
    sys.exit(main())
