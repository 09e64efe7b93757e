"""HTTP latency of the operator's endpoints on a full database: ``/health``, ``/metrics`` and the admin overview,
beside the bare endpoint of ``bench/ingest.py``, in the same run.

    .venv/bin/python bench/http_latency.py [--rate 20] [--duration 15] [--rounds 3]

(Issue 10 names this ``bench/http.py``; a file called ``http.py`` in ``bench/`` would shadow the standard
library's ``http`` package for every script run from this directory — ``ingest.py``'s uvicorn, FastAPI and
httpx all import it — so it has this name.)

What it does, on the PostgreSQL server of ``REMIT_BENCH_DATABASE_URL`` (else ``REMIT_TEST_DATABASE_URL``, else
``postgresql://postgres@127.0.0.1:5432/test``):

1. creates a fresh database (dropped at the end), migrates it, and stores 100,000 jobs (``--jobs``: 90 %
   completed, the rest waiting, retrying, discarded and cancelled, spread over remit's queues) and 100,000
   webhook events (``--events``: 95 % processed, 3 % dead, the rest failed or received, over ten types), then
   ``ANALYZE``;
2. starts two uvicorn processes with identical settings (one process each, uvloop, httptools, no access log):
   ``ingest.py``'s bare app, whose endpoint only reads the body, and remit's real app with the admin page on;
3. logs into the admin page once (the session cookie is then sent with each overview request);
4. warms every endpoint, then measures each at a fixed rate — ``--rate`` (20/s) for the bare endpoint and
   ``/health``, ``--metrics-rate`` (2/s: thirty times one Prometheus scraping every 15 s) and ``--admin-rate``
   (5/s: several operators refreshing) — with an open-loop paced client (it sends
   on a fixed schedule and measures from the scheduled send time, so a stall is charged to the server, not
   hidden by a client waiting for it), in ``--rounds`` rounds alternating the four endpoints so a burst of
   load from elsewhere on the shared machine does not favour one; p99 over all rounds' samples.

``/health`` answers from its cache (``REMIT_HEALTH_CACHE_SECONDS``, 2 s) most of the time and recomputes when
it expires, so its p99 includes recomputations; ``/metrics`` runs every collector (queue depth by state, the
webhook backlog by status and type, flags …) on each scrape; the overview reads queues, event counts,
workers, flags and the newest audit rows on each view.

Prints a table, then as the LAST line one JSON object: ``health_p99_ms``, ``metrics_p99_ms``, ``admin_p99_ms``,
``bare_p99_ms`` (and the p50s and the row counts). Targets (issue 10): ``/health`` p99 ≤ 2 x the bare
endpoint's; ``/metrics`` ≤ 50 ms; the admin overview ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.append(str(BENCH_DIR))  # after the standard library: ``ingest`` is a sibling module

import ingest  # noqa: E402

ROOT = BENCH_DIR.parent
PASSWORD = "bench admin password"  # a throwaway database's admin, never deployed
QUEUES = (
    "remit_webhooks",
    "remit_mailers",
    "remit_meters",
    "remit_usage",
    "remit_invoices",
    "remit_payment_sync",
    "remit_dunning",
    "remit_reconcilers",
    "remit_scheduled",
    "remit_provisioning",
    "remit_maintenance",
)
EVENT_TYPES = (
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.finalized",
    "customer.subscription.updated",
    "customer.subscription.created",
    "customer.updated",
    "charge.succeeded",
    "charge.refunded",
    "payment_intent.succeeded",
    "checkout.session.completed",
)


# --- seeding ---------------------------------------------------------------------------------------------------


def seed(url: str, *, n_jobs: int, n_events: int) -> None:
    """Store ``n_jobs`` jobs and ``n_events`` webhook events in bulk (``INSERT … SELECT generate_series``)."""
    queues = "(ARRAY[" + ",".join(f"'{q}'" for q in QUEUES) + "])"
    types = "(ARRAY[" + ",".join(f"'{t}'" for t in EVENT_TYPES) + "])"
    # share of each state: completed 90 %, available 4 %, scheduled 2 %, retryable 1 %, discarded 2 %, cancelled 1 %
    job_state = (
        "CASE WHEN g % 100 < 90 THEN 'completed' WHEN g % 100 < 94 THEN 'available' "
        "WHEN g % 100 < 96 THEN 'scheduled' WHEN g % 100 < 97 THEN 'retryable' "
        "WHEN g % 100 < 99 THEN 'discarded' ELSE 'cancelled' END"
    )
    jobs_sql = f"""
        INSERT INTO remit_jobs (queue, name, args, state, priority, attempt, max_attempts, unique_key,
                                scheduled_at, inserted_at, attempted_at, finished_at, attempted_by, timeout,
                                errors, meta)
        SELECT {queues}[1 + g % {len(QUEUES)}], 'bench.job', CAST('{{}}' AS jsonb), s.state, 0, 1, 20,
               'bench:' || g,
               CASE WHEN s.state = 'scheduled' THEN now() + interval '1 hour'
                    ELSE now() - make_interval(secs => g % 86400) END,
               now() - make_interval(secs => g % 86400),
               CASE WHEN s.state IN ('available', 'scheduled') THEN NULL
                    ELSE now() - make_interval(secs => g % 600) END,
               CASE WHEN s.state IN ('completed', 'discarded', 'cancelled')
                    THEN now() - make_interval(secs => g % 600) END,
               NULL, NULL, CAST('[]' AS jsonb), CAST('{{}}' AS jsonb)
        FROM generate_series(1, {n_jobs}) AS g, LATERAL (SELECT {job_state} AS state) AS s
    """
    event_status = (
        "CASE WHEN g % 100 < 95 THEN 'processed' WHEN g % 100 < 98 THEN 'dead' "
        "WHEN g % 100 < 99 THEN 'failed' ELSE 'received' END"
    )
    events_sql = f"""
        INSERT INTO remit_webhook_events (endpoint, processor, event_id, type, livemode, api_version, account,
                                          status, body, object_id, object_type, event_created_at, received_at,
                                          attempts, last_error, handler_results, processed_at, dead_at)
        SELECT 'default', 'stripe', 'evt_bench_' || g, {types}[1 + g % {len(EVENT_TYPES)}], false, '2024-06-20',
               NULL, s.status, '{{"id": "evt_bench"}}', 'in_bench_' || g, 'invoice',
               now() - make_interval(secs => g % 86400), now() - make_interval(secs => g % 86400), 1,
               CASE WHEN s.status IN ('dead', 'failed') THEN CAST('{{"type": "RuntimeError"}}' AS jsonb) END,
               CAST('{{}}' AS jsonb),
               CASE WHEN s.status = 'processed' THEN now() - make_interval(secs => g % 86400) END,
               CASE WHEN s.status = 'dead' THEN now() - make_interval(secs => g % 3600) END
        FROM generate_series(1, {n_events}) AS g, LATERAL (SELECT {event_status} AS status) AS s
    """
    import sqlalchemy as sa

    from remit.db.engine import create_sync_engine

    engine = create_sync_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(jobs_sql.replace("%", "%%"))  # psycopg's placeholders: % is the modulo here
            conn.exec_driver_sql(events_sql.replace("%", "%%"))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    finally:
        engine.dispose()


@contextlib.contextmanager
def bench_database() -> Iterator[str]:
    """A fresh, migrated database of its own on the bench server, dropped at the end."""
    from sqlalchemy.engine import make_url

    from remit.db import migrate
    from remit.db.engine import create_sync_engine

    admin = create_sync_engine(ingest.admin_url(), isolation_level="AUTOCOMMIT")
    name = f"remit_bench_http_{os.getpid()}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(ingest.admin_url()).set(database=name).render_as_string(hide_password=False)
    engine = create_sync_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# --- the paced client ------------------------------------------------------------------------------------------


@dataclass
class Target:
    """One endpoint under test: a name, its port and the raw request it is sent."""

    name: str
    port: int
    request: bytes
    rate: float
    latencies_ms: list[float] = field(default_factory=list)
    failures: int = 0


def get_request(path: str, cookie: str | None = None) -> bytes:
    extra = f"Cookie: {cookie}\r\n" if cookie else ""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode()


def post_request(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def paced(target: Target, rate: float, count: int, *, record: bool = True) -> None:
    """Send ``target``'s request ``count`` times at ``rate`` per second on a fixed schedule (open loop) over
    keep-alive connections; each latency runs from the scheduled send time to the end of the response."""
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    opened: list[asyncio.StreamWriter] = []

    async def send(scheduled: float) -> None:
        if idle.empty():
            reader, writer = await asyncio.open_connection("127.0.0.1", target.port)
            opened.append(writer)
        else:
            reader, writer = idle.get_nowait()
        writer.write(target.request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        found = re.search(rb"(?i)content-length:\s*(\d+)", head)
        if found:
            await reader.readexactly(int(found.group(1)))
        else:  # chunked
            while True:
                size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
        if record:
            target.latencies_ms.append((time.perf_counter() - scheduled) * 1000)
            if not 200 <= status < 300:
                target.failures += 1
        idle.put_nowait((reader, writer))

    tasks = []
    start = time.perf_counter() + 0.02
    for n in range(count):
        scheduled = start + n / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(scheduled)))
    await asyncio.gather(*tasks)
    for writer in opened:
        writer.close()


def run_rounds(targets: Sequence[Target], *, duration: float, rounds: int, warmup: int) -> None:
    """Warm each target, then ``rounds`` rounds of ``duration`` seconds each, the targets alternating."""
    import gc

    import uvloop

    async def main() -> None:
        for target in targets:
            await paced(target, target.rate, warmup, record=False)
        for n in range(rounds):
            for target in targets if n % 2 == 0 else list(reversed(targets)):
                await paced(target, target.rate, int(target.rate * duration))

    gc.collect()
    gc.disable()
    try:
        uvloop.run(main())
    finally:
        gc.enable()


# --- the admin session -----------------------------------------------------------------------------------------


def admin_cookie(port: int) -> str:
    """Log into the admin page as a browser does; the ``Cookie`` header value of the session."""
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        form = client.get("/admin/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token, f"no login form: {form.status_code}"
        done = client.post("/admin/login", data={"csrf_token": token.group(1), "user": "admin", "password": PASSWORD})
        assert done.status_code == 303, f"login failed: {done.status_code}"
        session = done.cookies.get("remit_admin")
        assert session, "no session cookie"
        check = client.get("/admin", cookies={"remit_admin": session})
        assert check.status_code == 200, f"the overview answered {check.status_code}"
        return f"remit_admin={session}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second: bare and /health")
    parser.add_argument("--metrics-rate", type=float, default=2.0, help="scrapes per second (Prometheus: 1/15)")
    parser.add_argument("--admin-rate", type=float, default=5.0, help="overview views per second")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per endpoint per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=10, help="requests per endpoint before measuring")
    args = parser.parse_args(argv)

    from remit.admin.passwords import hash_password

    with bench_database() as url:
        started = time.perf_counter()
        seed(url, n_jobs=args.jobs, n_events=args.events)
        print(
            f"stored {args.jobs:,} jobs and {args.events:,} events in {time.perf_counter() - started:.1f}s",
            file=sys.stderr,
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REMIT_", "STRIPE_"))}
        env.update(
            DATABASE_URL=url,
            REMIT_LOG_LEVEL="WARNING",
            REMIT_ADMIN_PASSWORD_HASH=hash_password(PASSWORD),
            REMIT_ADMIN_SESSION_SECRET="bench-session-secret-" + "x" * 24,
            REMIT_ADMIN_COOKIE_SECURE="false",
            PYTHONPATH=str(ROOT / "src"),
        )
        bare_port, remit_port = ingest.free_port(), ingest.free_port()
        processes: list[subprocess.Popen[bytes]] = []
        try:
            bare = ingest.start_uvicorn("bare_app", bare_port, env)
            remit = ingest.start_uvicorn("remit_app", remit_port, env)
            processes += [bare, remit]
            ingest.wait_for_port(bare_port, bare)
            ingest.wait_for_port(remit_port, remit)
            cookie = admin_cookie(remit_port)
            targets = [
                Target("bare", bare_port, post_request(ingest.WEBHOOK_PATH, b'{"id": "evt_bench"}'), args.rate),
                Target("health", remit_port, get_request("/health"), args.rate),
                Target("metrics", remit_port, get_request("/metrics"), args.metrics_rate),
                Target("admin", remit_port, get_request("/admin", cookie), args.admin_rate),
            ]
            print(
                f"measuring: {args.rounds} rounds x {args.duration:g}s per endpoint ...",
                file=sys.stderr,
            )
            run_rounds(targets, duration=args.duration, rounds=args.rounds, warmup=args.warmup)
        finally:
            for process in processes:
                ingest.stop(process)

    figures: dict[str, float | int] = {}
    print(f"{'endpoint':<22}{'requests':>10}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}{'failed':>8}")
    for target in targets:
        p50, p99 = ingest.percentile(target.latencies_ms, 50), ingest.percentile(target.latencies_ms, 99)
        print(
            f"{target.name:<22}{len(target.latencies_ms):>10}{p50:>10.2f}{p99:>10.2f}"
            f"{max(target.latencies_ms):>10.2f}{target.failures:>8}"
        )
        figures[f"{target.name}_p50_ms"] = round(p50, 2)
        figures[f"{target.name}_p99_ms"] = round(p99, 2)
        if target.failures:
            raise SystemExit(f"{target.name}: {target.failures} requests failed")
    bare_p99 = figures["bare_p99_ms"]
    print(
        f"targets: /health p99 {figures['health_p99_ms']} <= 2 x bare {bare_p99} = {2 * bare_p99:.2f}: "
        f"{'met' if figures['health_p99_ms'] <= 2 * bare_p99 else 'MISSED'}; "
        f"/metrics p99 {figures['metrics_p99_ms']} <= 50: {'met' if figures['metrics_p99_ms'] <= 50 else 'MISSED'}; "
        f"admin p99 {figures['admin_p99_ms']} <= 100: {'met' if figures['admin_p99_ms'] <= 100 else 'MISSED'}"
    )
    summary = {
        "health_p99_ms": figures["health_p99_ms"],
        "metrics_p99_ms": figures["metrics_p99_ms"],
        "admin_p99_ms": figures["admin_p99_ms"],
        "bare_p99_ms": bare_p99,
        "health_p50_ms": figures["health_p50_ms"],
        "metrics_p50_ms": figures["metrics_p50_ms"],
        "admin_p50_ms": figures["admin_p50_ms"],
        "bare_p50_ms": figures["bare_p50_ms"],
        "jobs": args.jobs,
        "events": args.events,
        "rate": args.rate,
        "metrics_rate": args.metrics_rate,
        "admin_rate": args.admin_rate,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
