"""The money work's benchmark: invoice rendering (HTML → PDF) per second on one core, and — when the
fee-reconciliation half lands — one fee pass over 100,000 settled charges against the fake processor.

    .venv/bin/python bench/money.py [--invoices 200] [--rounds 3] [--lines 5]

Each measurement is one function (``measure_*``) returning a :class:`Measured`: its figures for the JSON line
and its rows for the table. ``main`` runs them in turn, prints a table, then as its LAST line one JSON object
with ``fee_pass_s_100k``, ``fee_pass_processor_calls`` and ``pdf_per_s`` (a figure a measurement did not make
is ``null``).

``pdf_per_s``: the process is pinned to one CPU (``sched_setaffinity``) and renders ``--invoices`` invoices —
each a different paid invoice of ``--lines`` lines, a customer and an address — through the production path
(:func:`remit.documents.invoice.invoice_view` → the Jinja2 template → WeasyPrint, the engine remit's workers
use), after a warm-up of 5; the median of ``--rounds`` rounds is reported with the spread, and beside it, in
interleaved rounds, the rate of a one-line page through the same engine (the machine's ceiling at that moment:
on a shared machine compare the two). The database is not involved: storing a document is one INSERT. Target
(issue 9): at least 10 per second on one core.
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
from remit.documents.render import invoice_html  # noqa: E402

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


def pin_to_one_core() -> str:
    """Run this process on one CPU; which one, for the table."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def measure_pdf(args: argparse.Namespace) -> Measured:
    engine = WeasyPrintEngine()
    problem = engine.problem()
    if problem is not None:
        return Measured({"pdf_per_s": None}, [("pdf_per_s", "-", f">= {PDF_TARGET_PER_S:g}", problem)], failed=True)
    pinned = pin_to_one_core()
    views = [invoice_view(paid_invoice(n, args.lines)) for n in range(args.invoices + 5)]
    for view in views[:5]:  # warm-up: fonts, templates, caches
        engine.render(invoice_html(view))
    rates, floors = [], []
    pages = 0
    for _ in range(args.rounds):
        started = time.perf_counter()
        for view in views[5:]:
            pages += engine.render(invoice_html(view)).pages
        rates.append(args.invoices / (time.perf_counter() - started))
        started = time.perf_counter()
        for _ in range(args.invoices):
            engine.render(FLOOR_PAGE)
        floors.append(args.invoices / (time.perf_counter() - started))
    rate, floor = statistics.median(rates), statistics.median(floors)
    met = "met" if rate >= PDF_TARGET_PER_S else "NOT met"
    note = (
        f"{args.invoices} invoices of {args.lines} lines x {args.rounds} rounds, {pinned}; "
        f"spread {min(rates):.1f}-{max(rates):.1f}/s, {pages // (args.invoices * args.rounds)} page each; {met}"
    )
    floor_note = "a one-line page through the same engine, rounds interleaved: this machine's ceiling right now"
    return Measured(
        {"pdf_per_s": round(rate, 1)},
        [
            ("pdf_per_s", f"{rate:.1f}", f">= {PDF_TARGET_PER_S:g}", note),
            ("(one-line page per s)", f"{floor:.1f}", "", floor_note),
        ],
    )


def measure_fee_pass(args: argparse.Namespace) -> Measured:
    """The fee-reconciliation half (issue 9's reconciliation work) goes here: one pass over 100,000 settled
    charges against the fake processor on PostgreSQL, reporting ``fee_pass_s_100k`` and
    ``fee_pass_processor_calls``. Not measured yet."""
    note = "not measured yet: the fee reconciliation (money/) adds this measurement"
    return Measured(
        {"fee_pass_s_100k": None, "fee_pass_processor_calls": None},
        [("fee_pass_s_100k", "-", "< 60", note), ("fee_pass_processor_calls", "-", "<= 1100", note)],
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
    args = parser.parse_args(argv)
    figures: dict[str, Any] = dict.fromkeys(KEYS)
    rows: list[tuple[str, str, str, str]] = []
    failed = False
    for measure in MEASUREMENTS:
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
