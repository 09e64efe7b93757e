"""The money work's benchmark: one fee-reconciliation pass over 100,000 settled charges on PostgreSQL against
the fake processor, and invoice rendering (HTML → PDF) per second on one core.

    .venv/bin/python bench/money.py [--charges 100000] [--retrieves 300] [--invoices 200] [--rounds 3] [--lines 5]
                                      [--skip-pdf | --skip-fee] [--cpu N]

``fee_pass_s_100k`` / ``fee_pass_processor_calls``: a fresh database on ``REMIT_BENCH_DATABASE_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``) is migrated and seeded with ``--charges`` settled charges in the
mirror and their balance transactions in the fake's world (created over 30 days, all past the 24-hour settle
window), then :func:`remit.money.reconcile.reconcile_fees` runs once, timed: it lists balance transactions 100
per call and records every fee. Targets (issue 9): at most 1,100 processor calls, under 60 s. Beside it, the
same fake's single-retrieve time, extrapolated to one retrieve per charge.

Each measurement is one function (``measure_*``) returning a :class:`Measured`: its figures for the JSON line
and its rows for the table. ``main`` runs them in turn, prints a table, then as its LAST line one JSON object
with ``fee_pass_s_100k``, ``fee_pass_processor_calls`` and ``pdf_per_s`` (a figure a measurement did not make
is ``null``).

``pdf_per_s``: the process is pinned to one CPU (``sched_setaffinity``) and renders ``--invoices`` invoices —
each a different paid invoice of ``--lines`` lines, a customer and an address — through the production path
(:func:`remit.documents.invoice.invoice_view` → :func:`remit.documents.render.invoice_pdf`: the Jinja2
template and its stylesheet → WeasyPrint, the engine remit's workers use), after a warm-up of 5; the median of
``--rounds`` rounds is reported with the spread, and beside it, in interleaved rounds, the rate of a one-line
page through the same engine (the machine's ceiling at that moment: on a shared machine compare the two). The
note names the library that subsets the fonts embedded in each PDF: HarfBuzz (``libharfbuzz-subset0``, which
the README's commands install) or, without it, WeasyPrint's fallback fontTools, about five times slower a
render. The database is not involved: storing a document is one INSERT. Target (issue 9): at least 10 per
second on one core.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from remit.documents.engine import WeasyPrintEngine  # noqa: E402
from remit.documents.invoice import invoice_view  # noqa: E402
from remit.documents.render import invoice_pdf  # noqa: E402

PDF_TARGET_PER_S = 10.0
#: The cheapest document the engine makes, rendered beside the invoices: on a shared machine the ratio of the
#: two says more than either figure alone.
FLOOR_PAGE = "<html><body><p>remit</p></body></html>"
BASE = 1_772_366_400


@dataclass
class Measured:
    """One measurement's figures (keys of the JSON line) and its table rows (figure, value, target, note)."""

    figures: dict[str, float | int | None]
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    failed: bool = False


def paid_invoice(n: int, lines: int) -> dict[str, Any]:
    """A paid invoice as the mirror holds one, different for each ``n``."""
    data = [
        {
            "id": f"il_{n}_{k}",
            "amount": 1500 + 100 * k + n,
            "currency": "usd",
            "description": f"Pro plan seat {k + 1} (invoice {n})",
            "quantity": 1 + k % 3,
            "period": {"start": BASE, "end": BASE + 30 * 86_400},
        }
        for k in range(lines)
    ]
    total = sum(line["amount"] for line in data)
    return {
        "id": f"in_bench_{n:06d}",
        "object": "invoice",
        "number": f"BENCH-{n:06d}",
        "status": "paid",
        "currency": "usd",
        "account_name": "Acme Inc.",
        "customer": f"cus_{n}",
        "customer_name": f"Customer {n}",
        "customer_email": f"customer{n}@example.com",
        "customer_address": {"line1": f"{n} Main Street", "postal_code": "94107", "city": "San Francisco"},
        "created": BASE + n,
        "status_transitions": {"paid_at": BASE + n + 60},
        "total": total,
        "subtotal": total,
        "amount_paid": total,
        "amount_remaining": 0,
        "lines": {"object": "list", "data": data, "has_more": False},
    }


def pin_to_one_core(cpu: int | None) -> str:
    """Run this process on one CPU (``cpu``, else the first it may use); which one, for the table."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    if cpu is None:
        cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def font_subsetter() -> str:
    """Which library subsets the fonts WeasyPrint embeds: ``harfbuzz`` or its slow fallback ``fonttools``."""
    try:
        from weasyprint.pdf import fonts

        return "harfbuzz" if fonts.harfbuzz_subset and fonts.harfbuzz.hb_version_atleast(4, 1, 0) else "fonttools"
    except Exception:  # WeasyPrint's internals moved: say so rather than guess
        return "unknown"


def measure_pdf(args: argparse.Namespace) -> Measured:
    engine = WeasyPrintEngine()
    problem = engine.problem()
    if problem is not None:
        return Measured({"pdf_per_s": None}, [("pdf_per_s", "-", f">= {PDF_TARGET_PER_S:g}", problem)], failed=True)
    pinned = pin_to_one_core(args.cpu)
    views = [invoice_view(paid_invoice(n, args.lines)) for n in range(args.invoices + 5)]
    for view in views[:5]:  # warm-up: fonts, templates, the parsed stylesheet
        invoice_pdf(view, engine)
    rates, floors = [], []
    pages = 0
    for _ in range(args.rounds):
        started = time.perf_counter()
        for view in views[5:]:
            pages += invoice_pdf(view, engine).pages
        rates.append(args.invoices / (time.perf_counter() - started))
        started = time.perf_counter()
        for _ in range(args.invoices):
            engine.render(FLOOR_PAGE)
        floors.append(args.invoices / (time.perf_counter() - started))
    rate, floor = statistics.median(rates), statistics.median(floors)
    met = "met" if rate >= PDF_TARGET_PER_S else "NOT met"
    note = (
        f"{args.invoices} invoices of {args.lines} lines x {args.rounds} rounds, {pinned}; "
        f"spread {min(rates):.1f}-{max(rates):.1f}/s, {pages // (args.invoices * args.rounds)} page each, "
        f"fonts subset by {font_subsetter()}; {met}"
    )
    floor_note = "a one-line page through the same engine, rounds interleaved: this machine's ceiling right now"
    return Measured(
        {"pdf_per_s": round(rate, 1)},
        [
            ("pdf_per_s", f"{rate:.1f}", f">= {PDF_TARGET_PER_S:g}", note),
            ("(one-line page per s)", f"{floor:.1f}", "", floor_note),
        ],
    )


FEE_PASS_TARGET_S = 60.0
FEE_PASS_CALL_BUDGET = 1100
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
SEED_CHUNK = 5000


def _admin_url() -> Any:
    from sqlalchemy.engine import make_url

    return make_url(os.environ.get("REMIT_BENCH_DATABASE_URL", DEFAULT_ADMIN_URL)).set(drivername="postgresql")


def _seed(url: str, count: int, now: int) -> None:
    """``count`` settled charges as the mirror holds them and their balance transactions in the fake's world,
    created over the 30 days before the settle window (bulk inserts: the setup is not what is measured)."""
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from remit.db import migrate
    from remit.db.engine import create_sync_engine
    from remit.db.tables import charges, fake_objects

    engine = create_sync_engine(url)
    try:
        migrate.upgrade(engine)
        span = 30 * 86400
        oldest = now - 2 * 86400 - span
        for first in range(0, count, SEED_CHUNK):
            mirror, fake = [], []
            for n in range(first, min(first + SEED_CHUNK, count)):
                created = oldest + n * span // count
                at = datetime.fromtimestamp(created, UTC)
                amount = 1000 + n % 5000
                fee = round(amount * 2.9 / 100) + 30
                charge_id, txn_id = f"ch_bench{n:07d}", f"txn_bench{n:07d}"
                data = {
                    "id": charge_id,
                    "object": "charge",
                    "amount": amount,
                    "currency": "usd",
                    "status": "succeeded",
                    "balance_transaction": txn_id,
                    "created": created,
                }
                mirror.append(
                    {
                        "stripe_id": charge_id,
                        "livemode": False,
                        "created": at,
                        "data": data,
                        "deleted": False,
                        "watermark_created": at,
                        "watermark_hint": 0,
                        "watermark_phase": 0,
                        "watermark_event_id": f"evt_bench{n:07d}",
                        "created_at": at,
                        "updated_at": at,
                        "customer_id": None,
                        "payment_intent_id": None,
                        "invoice_id": None,
                        "status": "succeeded",
                        "amount": amount,
                        "amount_captured": amount,
                        "amount_refunded": 0,
                        "currency": "usd",
                        "paid": True,
                        "refunded": False,
                        "disputed": False,
                    }
                )
                txn = {
                    "id": txn_id,
                    "object": "balance_transaction",
                    "amount": amount,
                    "available_on": created,
                    "created": created,
                    "currency": "usd",
                    "description": None,
                    "exchange_rate": None,
                    "fee": fee,
                    "fee_details": [],
                    "net": amount - fee,
                    "reporting_category": "charge",
                    "source": charge_id,
                    "status": "available",
                    "type": "charge",
                }
                fake.append(
                    {
                        "id": txn_id,
                        "object": "balance_transaction",
                        "customer": None,
                        "created": created,
                        "data": txn,
                        "private": {},
                        "deleted": False,
                        "updated_at": at,
                    }
                )
            with engine.begin() as conn:
                conn.execute(sa.insert(charges), mirror)
                conn.execute(sa.insert(fake_objects), fake)
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


async def _fee_pass(url: str, retrieves: int) -> tuple[float, int, int, float]:
    """One pass (seconds, processor calls, fees recorded) and, beside it, the per-call time of ``retrieves``
    single balance-transaction retrieves — what the naive design would make 100,000 of."""
    from remit.config import Settings
    from remit.money.reconcile import reconcile_fees
    from remit.parts import build_runtime

    settings = Settings.model_validate({"DATABASE_URL": url, "REMIT_ENV": "test", "REMIT_PROCESSOR": "fake"})
    runtime = build_runtime(settings)
    try:
        started = time.perf_counter()
        done = await reconcile_fees(runtime)
        elapsed = time.perf_counter() - started
        started = time.perf_counter()
        for n in range(retrieves):
            await runtime.processor.retrieve_balance_transaction(f"txn_bench{n * 97 % 100_000:07d}")
        per_retrieve = (time.perf_counter() - started) / max(retrieves, 1)
        return elapsed, done.calls, done.recorded, per_retrieve
    finally:
        await runtime.close()


def measure_fee_pass(args: argparse.Namespace) -> Measured:
    """One fee-reconciliation pass over ``--charges`` (100,000) settled charges on PostgreSQL, against the fake
    processor in-process (its route table, its database world): ``fee_pass_s_100k`` and
    ``fee_pass_processor_calls``. Beside it, in the same run, the time of single retrieves through the same
    fake, extrapolated to one per charge: the design the listing replaces."""
    import asyncio

    import sqlalchemy as sa

    from remit.db.engine import create_sync_engine

    name = f"remit_bench_money_{os.getpid()}"
    admin = create_sync_engine(_admin_url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # no server: say so on the line, fail the run
        note = f"PostgreSQL unavailable ({type(exc).__name__})"
        return Measured(
            {"fee_pass_s_100k": None, "fee_pass_processor_calls": None},
            [("fee_pass_s_100k", "-", "< 60", note), ("fee_pass_processor_calls", "-", "<= 1100", note)],
            failed=True,
        )
    url = _admin_url().set(database=name).render_as_string(hide_password=False)
    try:
        seed_started = time.perf_counter()
        _seed(url, args.charges, int(time.time()))
        seeded = time.perf_counter() - seed_started
        elapsed, calls, recorded, per_retrieve = asyncio.run(_fee_pass(url, args.retrieves))
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    scale = 100_000 / args.charges
    seconds = elapsed * scale
    failed = recorded != args.charges or calls > FEE_PASS_CALL_BUDGET * scale or seconds >= FEE_PASS_TARGET_S
    met = "met" if not failed else "NOT met"
    note = f"{args.charges} charges seeded in {seeded:.0f} s; {recorded} fees recorded; {met}"
    naive = per_retrieve * 100_000
    return Measured(
        {"fee_pass_s_100k": round(seconds, 2), "fee_pass_processor_calls": calls},
        [
            ("fee_pass_s_100k", f"{seconds:.2f}", f"< {FEE_PASS_TARGET_S:g}", note),
            ("fee_pass_processor_calls", str(calls), f"<= {FEE_PASS_CALL_BUDGET}", "listing, 100 a call"),
            (
                "(one retrieve per charge, s)",
                f"{naive:.0f}",
                "",
                f"{args.retrieves} single retrieves through the same fake, x 100,000: the design listing replaces",
            ),
        ],
        failed=failed,
    )


#: The measurements, in the order they run (the PDF one pins the process to one core: it runs last).
MEASUREMENTS: list[Callable[[argparse.Namespace], Measured]] = [measure_fee_pass, measure_pdf]
#: The keys of the last line, in this order.
KEYS = ("fee_pass_s_100k", "fee_pass_processor_calls", "pdf_per_s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, default=200, help="invoices rendered per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the median is reported")
    parser.add_argument("--lines", type=int, default=5, help="lines per invoice")
    parser.add_argument("--charges", type=int, default=100_000, help="settled charges of the fee pass")
    parser.add_argument("--retrieves", type=int, default=300, help="single retrieves timed beside the pass")
    parser.add_argument("--skip-pdf", action="store_true", help="measure the fee pass only")
    parser.add_argument("--skip-fee", action="store_true", help="measure the PDF rendering only")
    parser.add_argument("--cpu", type=int, help="the CPU the rendering is pinned to (default: the first allowed)")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = dict.fromkeys(KEYS)
    rows: list[tuple[str, str, str, str]] = []
    failed = False
    for measure in MEASUREMENTS:
        if (args.skip_pdf and measure is measure_pdf) or (args.skip_fee and measure is measure_fee_pass):
            continue
        measured = measure(args)
        figures.update(measured.figures)
        rows += measured.rows
        failed = failed or measured.failed
    width = max(len(row[0]) for row in rows)
    print(f"{'figure':<{width}}  {'value':>8}  {'target':>8}  note")
    for name, value, target, note in rows:
        print(f"{name:<{width}}  {value:>8}  {target:>8}  {note}")
    print(json.dumps({key: figures[key] for key in KEYS}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
