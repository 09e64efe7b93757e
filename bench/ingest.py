"""Webhook ingest benchmark: remit's ``POST /webhooks/stripe`` beside a bare FastAPI endpoint, same run.

    .venv/bin/python bench/ingest.py [--duration 6] [--connections 64] [--rate 1000] [--e2e-rate 100]

What it does, on the PostgreSQL server of ``REMIT_BENCH_DATABASE_URL`` (else ``REMIT_TEST_DATABASE_URL``, else
``postgresql://postgres@127.0.0.1:5432/test``):

1. creates a fresh database ``remit_bench_ingest_<pid>`` and migrates it (dropped at the end);
2. signs N distinct ~5 KB ``invoice.paid`` events (Stripe's own pretty-printed shape, from the test suite's
   fixture), one unique event id and invoice id each, into a file wrk's Lua script cycles through;
3. starts two uvicorn processes with identical settings (one process each, uvloop, httptools, no access log):
   the bare app, whose endpoint only reads the body, and remit's real app (``remit.api.app.create_app``);
4. warms both servers (2,000 requests at 500/s); at the end, measures max requests/s with the same load tool
   (wrk, installed with apt-get when missing) and the same connections, in ``--rounds`` rounds alternating
   bare and remit (each remit round on events never sent before; no worker running: the endpoint alone),
   and reports the median of each — the machine is shared, and alternating keeps a burst of load from
   elsewhere from favouring one side;
5. p99 latency of remit's endpoint at a fixed 1,000 requests/s, ``--latency-runs`` (3) consecutive runs of
   ``--paced-seconds`` each, the worst reported: an open-loop paced client (uvloop, its own
   garbage collector off) that sends on a fixed schedule and measures from the scheduled send time, so a
   stall is not hidden by the client waiting for it; no worker running;
6. end to end, with ``remit worker`` running (once it has worked off the warm-up's events): events paced at
   ``--e2e-rate``; for each, the time from the event row's ``received_at`` to the mirror row's
   ``updated_at`` (joined on the invoice id), read from the database once all are processed.

The signature tolerance is raised to one hour for the bench (``REMIT_WEBHOOK_TOLERANCE=3600``): the bodies are
signed once, before the run starts. Everything else is remit's defaults. Prints a table, then as the LAST line
one JSON object: ``ingest_rps``, ``bare_rps``, ``ingest_p99_ms_at_1000rps`` (the worst of the consecutive runs),
``ingest_p99_ms_runs`` (each run's), ``e2e_p50_ms``, ``e2e_p99_ms``. ``--latency-only`` skips steps 4 and 6
(their figures are then ``null``) for quick checks of the tail.

This module is also the uvicorn app module (``ingest:bare_app`` / ``ingest:remit_app``, both factories).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
#: The test suite's copy of Stripe's invoice.paid example (tests/fixtures/stripe/SOURCES.md names its origin).
FIXTURE = ROOT / "tests" / "fixtures" / "stripe" / "stripe-ruby-mock__invoice.paid.json"
SECRET = "whsec_remit_bench_secret"
WEBHOOK_PATH = "/webhooks/stripe"
TARGET_BODY_BYTES = 5_000
TOLERANCE = 3600

WRK_LUA = r"""
local sigs, bodies = {}, {}
local n, i = 0, 0
function init(args)
  local f = assert(io.open(args[1], "r"))
  for line in f:lines() do
    local tab = line:find("\t", 1, true)
    n = n + 1
    sigs[n] = line:sub(1, tab - 1)
    bodies[n] = line:sub(tab + 1):gsub("\1", "\n")
  end
  f:close()
end
function request()
  i = i + 1
  if i > n then i = 1 end
  return wrk.format("POST", wrk.path, {["Content-Type"] = "application/json", ["Stripe-Signature"] = sigs[i]},
                    bodies[i])
end
"""


# --- the two apps (uvicorn factories) --------------------------------------------------------------------------


def bare_app() -> Any:
    """A bare FastAPI endpoint that reads the body and answers 200, nothing else."""
    app = FastAPI()

    @app.post(WEBHOOK_PATH)
    async def receive(request: Request) -> Response:
        await request.body()
        return Response(b'{"received":true}', media_type="application/json")

    return app


def remit_app() -> Any:
    """remit's real ASGI app, configured from the environment like ``remit serve``."""
    from remit.api.app import create_app
    from remit.config import load_settings
    from remit.parts import build_runtime

    return create_app(build_runtime(load_settings(), modules=()))


# --- events ---------------------------------------------------------------------------------------------------


def _template() -> dict[str, Any]:
    return dict(json.loads(FIXTURE.read_text()))


def make_events(count: int, tag: str) -> Iterator[str]:
    """``count`` distinct invoice.paid bodies of about 5 KB, pretty-printed as Stripe sends them."""
    template = _template()
    base = json.dumps(template, indent=2)
    pad = max(0, TARGET_BODY_BYTES - len(base) - 40)
    for n in range(count):
        event = copy.deepcopy(template)
        invoice = event["data"]["object"]
        event["id"] = f"evt_{tag}_{n:07d}_{uuid.uuid4().hex[:10]}"
        event["created"] = 1_700_000_000 + n
        event["type"] = "invoice.paid"
        invoice["id"] = f"in_{tag}_{n:07d}"
        invoice["metadata"] = {"bench_padding": "p" * pad}
        yield json.dumps(event, indent=2)


def sign(body: str, timestamp: int) -> str:
    import stripe

    return str(stripe.WebhookSignature.generate_signature_header(body, SECRET, timestamp=timestamp))


@dataclass
class Deliveries:
    """Pre-signed deliveries: (signature header, body)."""

    items: list[tuple[str, str]]
    cursor: int = 0

    def take(self, count: int) -> list[tuple[str, str]]:
        chunk = self.items[self.cursor : self.cursor + count]
        if len(chunk) < count:
            raise SystemExit(f"not enough pre-signed events ({len(self.items)}); raise --events")
        self.cursor += count
        return chunk


def sign_all(bodies: Iterator[str]) -> list[tuple[str, str]]:
    now = int(time.time())
    return [(sign(body, now), body) for body in bodies]


def write_wrk_file(path: Path, deliveries: Sequence[tuple[str, str]]) -> None:
    with path.open("w") as out:
        for header, body in deliveries:
            out.write(header + "\t" + body.replace("\n", "\x01") + "\n")  # JSON text has no raw \x01


# --- processes ------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_uvicorn(factory: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        f"ingest:{factory}",
        "--factory",
        "--app-dir",
        str(BENCH_DIR),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(command, env=env, cwd=ROOT)


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server on port {port} exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start in {timeout:g}s")


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk not found; installing it with apt-get", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is required (apt-get install -y wrk)")
    return found


# --- load -----------------------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    rps: float
    requests: int
    non_2xx: int
    socket_errors: int
    p99_ms: float | None


def run_wrk(wrk: str, url: str, script: Path, bodies: Path, *, duration: float, connections: int) -> WrkResult:
    command = [
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{duration:g}s",
        "--latency",
        "-s",
        str(script),
        url,
        "--",
        str(bodies),
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    p99_ms = None
    if p99:
        p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return WrkResult(
        rps,
        requests,
        int(non_2xx.group(1)) if non_2xx else 0,
        sum(int(g) for g in errors.groups()) if errors else 0,
        p99_ms,
    )


@dataclass
class PacedResult:
    sent: int
    ok: int
    latencies_ms: list[float] = field(default_factory=list)
    achieved_rps: float = 0.0

    def percentile(self, q: float) -> float:
        return percentile(self.latencies_ms, q)


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))  # nearest rank
    return ordered[index]


def run_paced(port: int, deliveries: Sequence[tuple[str, str]], rate: float) -> PacedResult:
    """:func:`paced` on uvloop with the client's garbage collector off, so the client's own pauses (which an
    open-loop measurement would charge to the server) stay out of the figures."""
    import gc

    import uvloop

    gc.collect()
    gc.disable()
    try:
        return uvloop.run(paced(port, deliveries, rate))
    finally:
        gc.enable()


async def paced(
    port: int,
    deliveries: Sequence[tuple[str, str]],
    rate: float,
    *,
    max_connections: int = 128,
) -> PacedResult:
    """Send ``deliveries`` at ``rate`` per second on a fixed schedule (open loop) over keep-alive connections;
    each latency runs from the scheduled send time to the end of the response."""
    requests = [
        (
            f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Stripe-Signature: {header}\r\nContent-Length: {len(body.encode())}\r\n\r\n"
        ).encode()
        + body.encode()
        for header, body in deliveries
    ]
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    opened = 0
    result = PacedResult(sent=len(requests), ok=0)

    async def connection() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        nonlocal opened
        if idle.empty() and opened < max_connections:
            opened += 1
            return await asyncio.open_connection("127.0.0.1", port)
        return await idle.get()

    async def send(payload: bytes, scheduled: float) -> None:
        reader, writer = await connection()
        writer.write(payload)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
        await reader.readexactly(length)
        result.latencies_ms.append((time.perf_counter() - scheduled) * 1000)
        if 200 <= status < 300:
            result.ok += 1
        idle.put_nowait((reader, writer))

    tasks = []
    start = time.perf_counter() + 0.05
    for n, payload in enumerate(requests):
        scheduled = start + n / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(payload, scheduled)))
    await asyncio.gather(*tasks)
    result.achieved_rps = len(requests) / (time.perf_counter() - start)
    while not idle.empty():
        _, writer = idle.get_nowait()
        writer.close()
    return result


# --- database -------------------------------------------------------------------------------------------------


def admin_url() -> str:
    return (
        os.environ.get("REMIT_BENCH_DATABASE_URL")
        or os.environ.get("REMIT_TEST_DATABASE_URL")
        or "postgresql://postgres@127.0.0.1:5432/test"
    )


@contextlib.contextmanager
def bench_database() -> Iterator[str]:
    from sqlalchemy.engine import make_url

    from remit.db import migrate
    from remit.db.engine import create_sync_engine

    admin = create_sync_engine(admin_url(), isolation_level="AUTOCOMMIT")
    name = f"remit_bench_ingest_{os.getpid()}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url()).set(database=name).render_as_string(hide_password=False)
    engine = create_sync_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def query(url: str, sql: str, **params: Any) -> list[Any]:
    import sqlalchemy as sa

    from remit.db.engine import create_sync_engine

    engine = create_sync_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params).all())
    finally:
        engine.dispose()


def wait_processed(url: str, tag: str, expected: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    done = 0
    while time.monotonic() < deadline:
        done = int(
            query(
                url,
                "SELECT count(*) FROM remit_webhook_events WHERE event_id LIKE :p AND status = 'processed'",
                p=f"evt_{tag}_%",
            )[0][0]
        )
        if done >= expected:
            break
        time.sleep(0.5)
    return done


def drain_backlog(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if int(query(url, "SELECT count(*) FROM remit_webhook_events WHERE status <> 'processed'")[0][0]) == 0:
            return
        time.sleep(0.5)
    raise SystemExit("the worker did not drain the warm-up backlog in time")


def processed_latencies(url: str, tag: str) -> list[float]:
    rows = query(
        url,
        "SELECT EXTRACT(EPOCH FROM (processed_at - received_at)) * 1000 FROM remit_webhook_events "
        "WHERE event_id LIKE :p AND processed_at IS NOT NULL",
        p=f"evt_{tag}_%",
    )
    return [float(row[0]) for row in rows]


def e2e_latencies(url: str, tag: str) -> list[float]:
    rows = query(
        url,
        "SELECT EXTRACT(EPOCH FROM (i.updated_at - e.received_at)) * 1000 FROM remit_webhook_events e "
        "JOIN remit_invoices i ON i.watermark_event_id = e.event_id WHERE e.event_id LIKE :p",
        p=f"evt_{tag}_%",
    )
    return [float(row[0]) for row in rows]


# --- the run --------------------------------------------------------------------------------------------------


@dataclass
class MaxRounds:
    """Max-throughput rounds, bare and remit alternating so a burst of load from elsewhere on the machine
    hits both alike; the medians are reported."""

    bare: list[WrkResult] = field(default_factory=list)
    remit: list[WrkResult] = field(default_factory=list)
    stored: int = 0
    repeats: int = 0

    @property
    def bare_rps(self) -> float:
        return statistics.median(r.rps for r in self.bare)

    @property
    def remit_rps(self) -> float:
        return statistics.median(r.rps for r in self.remit)


def max_rounds(
    wrk: str,
    script: Path,
    files: Sequence[tuple[Path, int]],
    url: str,
    *,
    bare_port: int,
    remit_port: int,
    duration: float,
    connections: int,
) -> MaxRounds:
    """One bare and one remit wrk run per file; each remit run gets a file of events never sent before."""
    rounds = MaxRounds()
    for path, count in files:
        rounds.bare.append(
            run_wrk(
                wrk,
                f"http://127.0.0.1:{bare_port}{WEBHOOK_PATH}",
                script,
                path,
                duration=duration,
                connections=connections,
            )
        )
        before = int(query(url, "SELECT count(*) FROM remit_webhook_events")[0][0])
        result = run_wrk(
            wrk,
            f"http://127.0.0.1:{remit_port}{WEBHOOK_PATH}",
            script,
            path,
            duration=duration,
            connections=connections,
        )
        rounds.remit.append(result)
        rounds.stored += int(query(url, "SELECT count(*) FROM remit_webhook_events")[0][0]) - before
        rounds.repeats += max(0, result.requests - count)
    return rounds


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per max-throughput run")
    parser.add_argument("--rounds", type=int, default=3, help="max-throughput runs of each, alternating")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rate", type=float, default=1000.0, help="requests/s for the latency run")
    parser.add_argument("--paced-seconds", type=float, default=10.0)
    parser.add_argument(
        "--latency-runs", type=int, default=3, help="consecutive fixed-rate runs; the p99 figure is the worst (3)"
    )
    parser.add_argument(
        "--latency-only", action="store_true", help="skip the end-to-end and max-throughput parts (quick checks)"
    )
    parser.add_argument("--e2e-rate", type=float, default=100.0, help="events/s for the end-to-end run")
    parser.add_argument("--e2e-seconds", type=float, default=10.0)
    parser.add_argument("--events", type=int, default=60_000, help="distinct signed events for wrk, all rounds")
    parser.add_argument("--worker-warmup", type=float, default=3.0, help="seconds the worker gets to start")
    parser.add_argument("--warmup-rate", type=float, default=500.0, help="requests/s of the warm-up")
    parser.add_argument("--warmup-seconds", type=float, default=4.0)
    args = parser.parse_args(argv)

    wrk = ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="remit-bench-ingest-"))
    script = work / "cycle.lua"
    script.write_text(WRK_LUA)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with bench_database() as url:
            print(f"signing {args.events} events of ~{TARGET_BODY_BYTES} bytes ...", file=sys.stderr)
            per_round = args.events // args.rounds
            files = []
            for n in range(0 if args.latency_only else args.rounds):
                path = work / f"bodies-{n}.txt"
                write_wrk_file(path, sign_all(make_events(per_round, f"wrk{n}")))
                files.append((path, per_round))
            warmup = int(args.warmup_rate * args.warmup_seconds)
            per_run = int(args.rate * args.paced_seconds)
            paced_events = Deliveries(sign_all(make_events(per_run * args.latency_runs + warmup, "paced")))
            e2e_events = Deliveries(sign_all(make_events(int(args.e2e_rate * args.e2e_seconds), "e2e")))

            env = {
                **os.environ,
                "DATABASE_URL": url,
                "STRIPE_WEBHOOK_SECRET": SECRET,
                "REMIT_WEBHOOK_TOLERANCE": str(TOLERANCE),
                "REMIT_LOG_LEVEL": "WARNING",
                "REMIT_ENV": "development",
                "PYTHONPATH": str(BENCH_DIR),
            }
            bare_port, remit_port = free_port(), free_port()
            bare = start_uvicorn("bare_app", bare_port, env)
            remit = start_uvicorn("remit_app", remit_port, env)
            processes += [bare, remit]
            wait_for_port(bare_port, bare)
            wait_for_port(remit_port, remit)
            # warm both (lazy imports, connection pools, prepared statements, caches) before measuring
            run_paced(remit_port, paced_events.take(warmup), args.warmup_rate)
            run_paced(bare_port, paced_events.items[:warmup], args.warmup_rate)

            e2e_http: PacedResult | None = None
            e2e: list[float] = []
            e2e_processed: list[float] = []
            processed = 0
            if not args.latency_only:
                print("remit + worker: end to end ...", file=sys.stderr)
                worker = subprocess.Popen(
                    [str(Path(sys.executable).parent / "remit"), "worker", "--queues", "remit_webhooks"],
                    env=env,
                    cwd=ROOT,
                )
                processes.append(worker)
                drain_backlog(url, timeout=180.0)  # the warm-up's events, so e2e events do not queue behind them
                time.sleep(args.worker_warmup)
                e2e_sent = e2e_events.take(len(e2e_events.items))
                e2e_http = run_paced(remit_port, e2e_sent, args.e2e_rate)
                processed = wait_processed(url, "e2e", e2e_http.ok, timeout=120.0)
                e2e = e2e_latencies(url, "e2e")
                e2e_processed = processed_latencies(url, "e2e")
                stop(worker)

            fixed_runs: list[PacedResult] = []
            for n in range(args.latency_runs):
                print(f"remit endpoint: fixed-rate latency, run {n + 1} of {args.latency_runs} ...", file=sys.stderr)
                fixed_runs.append(run_paced(remit_port, paced_events.take(per_run), args.rate))

            rounds: MaxRounds | None = None
            if not args.latency_only:
                print(f"max throughput: {args.rounds} rounds, bare and remit alternating ...", file=sys.stderr)
                rounds = max_rounds(
                    wrk,
                    script,
                    files,
                    url,
                    bare_port=bare_port,
                    remit_port=remit_port,
                    duration=args.duration,
                    connections=args.connections,
                )
            jobs = int(query(url, "SELECT count(*) FROM remit_jobs")[0][0])
            stop(remit)
            stop(bare)
    finally:
        for process in processes:
            stop(process)
        shutil.rmtree(work, ignore_errors=True)

    worst = max(fixed_runs, key=lambda run: run.percentile(99))
    figures = {
        "ingest_rps": round(rounds.remit_rps, 1) if rounds else None,
        "bare_rps": round(rounds.bare_rps, 1) if rounds else None,
        "ingest_p99_ms_at_1000rps": round(worst.percentile(99), 2),
        "ingest_p99_ms_runs": [round(run.percentile(99), 2) for run in fixed_runs],
        "e2e_p50_ms": round(statistics.median(e2e), 2) if e2e else None,
        "e2e_p99_ms": round(percentile(e2e, 99), 2) if e2e else None,
    }
    rows = []
    if rounds is not None:
        non_2xx = sum(r.non_2xx for r in rounds.remit)
        rows += [
            (
                "bare FastAPI endpoint, max",
                f"{rounds.bare_rps:,.0f} req/s",
                "median of " + ", ".join(f"{r.rps:,.0f}" for r in rounds.bare) + " (closed loop)",
            ),
            (
                "remit ingest, max",
                f"{rounds.remit_rps:,.0f} req/s",
                "median of "
                + ", ".join(f"{r.rps:,.0f}" for r in rounds.remit)
                + f"; {rounds.stored} rows stored, non-2xx {non_2xx}, {rounds.repeats} repeats (no worker)",
            ),
            ("ratio ingest / bare", f"{rounds.remit_rps / rounds.bare_rps:.2f}", "target >= 0.33"),
        ]
    for n, fixed in enumerate(fixed_runs, 1):
        rows.append(
            (
                f"remit ingest at {args.rate:g} req/s, run {n}",
                f"p99 {fixed.percentile(99):.1f} ms",
                f"p50 {fixed.percentile(50):.1f} ms, max {max(fixed.latencies_ms):.1f} ms, achieved "
                f"{fixed.achieved_rps:,.0f} req/s, {fixed.ok}/{fixed.sent} 2xx (open loop, no worker)",
            )
        )
    rows.append((f"  worst p99 of {len(fixed_runs)} runs", f"{worst.percentile(99):.1f} ms", "target < 25 ms"))
    if e2e_http is not None:
        rows += [
            (
                f"end to end at {args.e2e_rate:g} events/s",
                f"p50 {figures['e2e_p50_ms']} ms",
                f"p99 {figures['e2e_p99_ms']} ms, {processed}/{e2e_http.ok} processed, {len(e2e)} mirrored "
                f"(received_at -> mirror updated_at, worker running)",
            ),
            (
                "  received -> processed",
                f"p50 {percentile(e2e_processed, 50):.1f} ms",
                f"p99 {percentile(e2e_processed, 99):.1f} ms; HTTP p50 {e2e_http.percentile(50):.1f} ms, "
                f"p99 {e2e_http.percentile(99):.1f} ms",
            ),
        ]
    rows.append(("jobs queued by ingest", f"{jobs:,}", "one per stored event"))
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'figure':>16}  notes")
    for name, figure, notes in rows:
        print(f"{name:<{width}}  {figure:>16}  {notes}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
