"""The provisioning part's benchmark on PostgreSQL: the stuck gauge and one reconciler run at 10k and 1M jobs.

    .venv/bin/python bench/provisioning.py [--sizes 10000,1000000] [--gauge-samples 30] [--runs 7] [--explain]

For each size, ``remit_provisioning_jobs`` is filled with ``generate_series`` (not timed): 0.1 % of the rows
open (``enqueued``/``provisioning``/``failed`` in turn, last attempt an hour ago, so every one is stale and
stuck, each with a stored payload), the rest ``provisioned`` over 30 days; then ANALYZE and a checkpoint.

- ``gauge_ms_<size>``: the median of ``--gauge-samples`` calls of
  :func:`remit.provisioning.jobs_table.count_stuck` (the gauge's and ``list --stuck``'s query), each through a
  pooled read connection as the collector makes it. Beside it in the same run: the floor, ``SELECT 1`` through
  the same path (``floor_ms_<size>``); and, at each size, the same query with index scans disabled
  (``seqscan_ms_<size>``) — what the gauge would cost if it read the table rather than the open rows.
- ``reconcile_ms_<size>``: the median of ``--runs`` runs of :func:`remit.provisioning.reconciler.reconcile`
  (after one warm-up run), each re-driving ``min(25, open)`` jobs to the stand-in orchestrator
  (``remit provisioning orchestrator``, a separate process, answering 202, no callback); the rows a run
  changed are reset between runs (not timed). Every run must re-drive them all with none failing.
  ``reconcile10_ms_<size>``: the same with a batch of 10 (the 10k table's open jobs), so the sizes compare the
  same work. Beside it: the floor, the same number of signed POSTs of the same payloads through the same HTTP
  client and the same bounded fan-out (:func:`remit.provisioning.trigger.send_triggers`) with no database
  (``http_floor_ms_<size>``).
- ``--explain`` prints ``EXPLAIN (ANALYZE, BUFFERS)`` of the gauge's statement and of the reconciler's claiming
  UPDATE (rolled back) at each size; each run checks that neither plan reads the jobs table sequentially.

The last line is one JSON object: ``gauge_ms_10k``, ``gauge_ms_1m``, ``reconcile_ms_10k``, ``reconcile_ms_1m``
and the floors. Targets (issue 12): each 1M figure within 2 x its 10k figure (the reconciler's compared as
``reconcile10``, the same work); at 1M the gauge < 20 ms and a run of 25 re-drives < 100 ms. Exit status 1
when one is not met or a measurement failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from bench.jobs import checkpoint, fresh_database, migrate_database, render  # noqa: E402

from remit.clock import FrozenClock  # noqa: E402
from remit.config import Settings  # noqa: E402
from remit.parts import build_runtime  # noqa: E402
from remit.provisioning import jobs_table  # noqa: E402
from remit.provisioning.reconciler import reconcile  # noqa: E402
from remit.provisioning.trigger import send_triggers  # noqa: E402
from remit.runtime import Runtime  # noqa: E402

SECRET = "bench_trigger_secret"
OPEN_EVERY = 1000  # 0.1 % of the rows are open
SAME_WORK = 10  # re-drives per run for the like-for-like comparison: the 10k table's open jobs
TABLE = "remit_provisioning_jobs"


def label(size: int) -> str:
    return f"{size // 1_000_000}m" if size >= 1_000_000 else f"{size // 1000}k"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_stand_in(port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PROVISIONING_TRIGGER_SECRET": SECRET, "REMIT_ENV": "development"}
    command = [str(ROOT / ".venv/bin/remit"), "provisioning", "orchestrator", "--port", str(port), "--no-callback"]
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(
                f"the stand-in orchestrator exited: {child.stderr.read().decode() if child.stderr else ''}"
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return child
        except OSError:
            time.sleep(0.2)
    child.kill()
    raise SystemExit("the stand-in orchestrator did not start within 60 s")


def load_jobs(engine: sa.Engine, size: int, now: datetime) -> int:
    """Fill the table (ids 1..size); the open rows are those with ``id % OPEN_EVERY = 0``."""
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {TABLE} RESTART IDENTITY")
        conn.execute(
            sa.text(
                f"INSERT INTO {TABLE} (stripe_session_id, account_id, status, origin, trigger_payload, attempts, "
                "last_error, last_attempt_at, deployment_id, cell_id, tokens_quota, created_at, updated_at) "
                "SELECT 'cs_bench_' || g, 'acct_' || g, "
                f"CASE WHEN g % {OPEN_EVERY} = 0 THEN (ARRAY['enqueued','provisioning','failed'])[1 + (g / "
                f"{OPEN_EVERY}) % 3] ELSE 'provisioned' END, 'remit', "
                "jsonb_build_object('stripe_session_id', 'cs_bench_' || g, 'account_id', 'acct_' || g, "
                "'package_slug', 'starter', 'tokens_quota', 100000, 'customer_id', 'cus_' || g), 1, NULL, "
                f"CASE WHEN g % {OPEN_EVERY} = 0 THEN CAST(:old AS timestamptz) ELSE t END, "
                f"CASE WHEN g % {OPEN_EVERY} = 0 THEN NULL ELSE 'dpl_' || g END, "
                f"CASE WHEN g % {OPEN_EVERY} = 0 THEN NULL ELSE 'cell-1' END, 100000, t, "
                f"CASE WHEN g % {OPEN_EVERY} = 0 THEN CAST(:old AS timestamptz) ELSE t END "
                "FROM (SELECT g, CAST(:now AS timestamptz) - make_interval(secs => 30 * 86400.0 * "
                f"({size} - g) / {size}) - interval '1 hour' AS t FROM generate_series(1, {size}) g) s"
            ),
            {"now": now, "old": now - timedelta(hours=1)},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM ANALYZE {TABLE}")
    checkpoint()
    return size // OPEN_EVERY


def reset_open(engine: sa.Engine, now: datetime) -> None:
    """Put the open rows the last run changed back as loaded (the reconciler bumped their attempts, and moved a
    ``failed`` one to ``enqueued``). Only those: rewriting every open row (1,000 at 1M, 10 at 10k) before each
    timed run would leave the larger table's untouched rows freshly rewritten too, and the run's next read of
    them (the summary's stuck count) would pay for a rewrite no reconciler run makes."""
    loaded_status = f"(ARRAY['enqueued','provisioning','failed'])[1 + (id / {OPEN_EVERY}) % 3]"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f"UPDATE {TABLE} SET status = {loaded_status}, attempts = 1, last_error = NULL, "
                "last_attempt_at = :old, updated_at = :old "
                "WHERE status IN ('enqueued', 'provisioning', 'failed') AND (status <> "
                f"{loaded_status} OR attempts <> 1 OR last_error IS NOT NULL OR last_attempt_at IS DISTINCT FROM :old "
                "OR updated_at <> :old)"
            ),
            {"old": now - timedelta(hours=1)},
        )


async def median_ms(samples: int, once: Callable[[], Awaitable[object]]) -> tuple[float, float, float]:
    """Median, min and max of ``samples`` timed calls (after two untimed ones), in milliseconds."""
    for _ in range(2):
        await once()
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        await once()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), min(times), max(times)


async def explain(runtime: Runtime, statement: Any, *, rollback: bool) -> str:
    async with runtime.db.connect() as conn:
        transaction = await conn.begin()
        try:
            compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
            sql = "EXPLAIN (ANALYZE, BUFFERS) " + str(compiled)
            rows = (await conn.exec_driver_sql(sql, compiled.params)).scalars().all()
        finally:
            await transaction.rollback() if rollback else await transaction.commit()
    return "\n".join(str(r) for r in rows)


def seq_scan_free(plan: str) -> bool:
    return f"Seq Scan on {TABLE}" not in plan


async def reconcile_runs(
    runtime: Runtime, engine: sa.Engine, now: datetime, open_rows: int, runs: int
) -> tuple[tuple[float, float, float], int]:
    """Median, min and max of ``runs`` reconciler runs (after a warm-up run), and the re-drives each made."""
    expected = min(runtime.settings.provisioning_batch, open_rows)
    timings = []
    for run in range(runs + 1):
        reset_open(engine, now)
        started = time.perf_counter()
        summary = await reconcile(runtime)
        elapsed = (time.perf_counter() - started) * 1000
        if summary["redriven"] != expected or summary["still_failing"] != 0:
            raise SystemExit(f"a reconciler run re-drove {summary}, expected {expected} accepted")
        if run > 0:  # the first run warms the HTTP client's connections
            timings.append(elapsed)
    return (statistics.median(timings), min(timings), max(timings)), expected


async def measure(
    runtime: Runtime, same_work: Runtime, engine: sa.Engine, size: int, open_rows: int, args: argparse.Namespace
) -> dict[str, Any]:
    settings = runtime.settings
    now = runtime.clock.now()
    stuck_args = {
        "stuck_seconds": settings.provisioning_stuck_seconds,
        "max_attempts": settings.provisioning_max_attempts,
    }
    result: dict[str, Any] = {}

    async def gauge() -> None:
        async with runtime.db.read() as conn:
            count = await jobs_table.count_stuck(conn, runtime.clock.now(), **stuck_args)
        if count != open_rows:
            raise SystemExit(f"the gauge counted {count} stuck jobs, {open_rows} were loaded")

    async def select_one() -> None:
        async with runtime.db.read() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def seq_gauge() -> None:
        async with runtime.db.connect() as conn, conn.begin():
            await conn.exec_driver_sql("SET LOCAL enable_indexscan = off")
            await conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            await conn.execute(jobs_table.count_stuck_statement(runtime.clock.now(), **stuck_args))

    result["gauge"] = await median_ms(args.gauge_samples, gauge)
    result["floor"] = await median_ms(args.gauge_samples, select_one)
    result["seqscan"] = await median_ms(max(3, args.gauge_samples // 6), seq_gauge)

    result["reconcile"], expected = await reconcile_runs(runtime, engine, now, open_rows, args.runs)
    result["redriven"] = expected
    result["reconcile10"], _ = await reconcile_runs(same_work, engine, now, open_rows, args.runs)

    payloads = [
        {
            "stripe_session_id": f"cs_bench_{i}",
            "account_id": f"acct_{i}",
            "package_slug": "starter",
            "tokens_quota": 100000,
            "customer_id": f"cus_{i}",
        }
        for i in range(OPEN_EVERY, OPEN_EVERY * (expected + 1), OPEN_EVERY)
    ]

    async def posts() -> None:
        outcomes = await send_triggers(runtime, payloads)
        if any(o is not None for o in outcomes):
            raise SystemExit(f"the stand-in refused a trigger: {outcomes}")

    result["http_floor"] = await median_ms(args.runs, posts)

    reset_open(engine, now)
    gauge_plan = await explain(runtime, jobs_table.count_stuck_statement(now, **stuck_args), rollback=True)
    claim = jobs_table.claim_stale_statement(
        "postgresql",
        now,
        stale_seconds=settings.provisioning_stale_seconds,
        max_attempts=settings.provisioning_max_attempts,
        batch=settings.provisioning_batch,
    )
    claim_plan = await explain(runtime, claim, rollback=True)
    result["plans_indexed"] = seq_scan_free(gauge_plan) and seq_scan_free(claim_plan)
    if args.explain:
        print(f"--- gauge at {size:,} jobs\n{gauge_plan}\n--- claim at {size:,} jobs\n{claim_plan}\n")
    return result


async def run_size(url: str, trigger_url: str, size: int, args: argparse.Namespace) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    settings = Settings.model_validate(
        {
            "DATABASE_URL": url,
            "REMIT_ENV": "test",
            "PROVISIONING_TRIGGER_URL": trigger_url,
            "PROVISIONING_TRIGGER_SECRET": SECRET,
        }
    )
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=sa.pool.NullPool)
    runtime = build_runtime(settings, clock=FrozenClock(now))
    # The same work at every size: a batch of as many re-drives as the smallest table has open jobs.
    batch = settings.model_copy(update={"provisioning_batch": SAME_WORK})
    same_work = build_runtime(batch, clock=FrozenClock(now))
    try:
        open_rows = load_jobs(engine, size, now)
        return await measure(runtime, same_work, engine, size, open_rows, args)
    finally:
        await runtime.close()
        await same_work.close()
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--gauge-samples", type=int, default=30)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    port = free_port()
    stand_in = start_stand_in(port)
    figures: dict[str, Any] = {}
    indexed = True
    try:
        with fresh_database("provisioning") as url_obj:
            url = render(url_obj)
            migrate_database(url)
            for size in sizes:
                r = asyncio.run(run_size(url, f"http://127.0.0.1:{port}/trigger/onboarding", size, args))
                key = label(size)
                indexed = indexed and r["plans_indexed"]
                for name in ("gauge", "floor", "seqscan", "reconcile", "reconcile10", "http_floor"):
                    med, low, high = r[name]
                    figures[f"{name}_ms_{key}"] = round(med, 2)
                    print(f"{name + '_ms_' + key:<22} {med:>9.2f}   (min {low:.2f}, max {high:.2f})")
                no_seq = r["plans_indexed"]
                print(f"{'redriven per run':<22} {r['redriven']:>9}   at {size:,} jobs; no seq scan: {no_seq}")
    finally:
        stand_in.terminate()
        stand_in.wait(10)
    g10, g1m = figures.get("gauge_ms_10k"), figures.get("gauge_ms_1m")
    # Like for like: 10 re-drives per run at both sizes (at 10k, 0.1 % is 10 open jobs).
    r10, r1m = figures.get("reconcile10_ms_10k"), figures.get("reconcile10_ms_1m")
    # As the issue names them: 10 re-drives at 10k (all its open jobs), 25 (a full batch) at 1M.
    full10, full1m = figures.get("reconcile_ms_10k"), figures.get("reconcile_ms_1m")
    met = {
        "gauge_1m <= 2 x gauge_10k": None if g10 is None or g1m is None else g1m <= 2 * g10,
        "reconcile_1m <= 2 x reconcile_10k": None if full10 is None or full1m is None else full1m <= 2 * full10,
        "reconcile10_1m <= 2 x reconcile10_10k": None if r10 is None or r1m is None else r1m <= 2 * r10,
        "gauge_1m < 20 ms": None if g1m is None else g1m < 20,
        "reconcile_1m (25 re-drives) < 100 ms": None if full1m is None else full1m < 100,
        "no sequential scan of the jobs table": indexed,
    }
    for name, ok in met.items():
        print(f"{name:<40} {'met' if ok else 'NOT met' if ok is False else 'not measured'}")
    print(json.dumps(figures))
    sys.exit(0 if all(v is not False for v in met.values()) else 1)


if __name__ == "__main__":
    main()
