"""``remit payments sync``: re-fetch charges, invoices and subscriptions the mirror may hold stale.

Without ``--since`` (what the periodic ``money.payment_sync`` does): the rows whose newest event at the processor
is newer than the mirror's (read from its event stream since the kept cursor, ``stale_by_events``), and the rows
stuck in a non-final state past ``REMIT_PAYMENT_SYNC_STALE_MINUTES``. With ``--since 7d`` (or a date): every row
created since then. ``--dry-run`` lists what would be re-fetched: it reads the event list, fetches nothing and
moves no cursor.

When the event list was not read the summary still prints (the stuck rows were fetched), then one line on
stderr says why, and the command exits 1: ``refused`` (a 4xx: the cursor is kept until the cause is fixed, see
``docs/runbooks/payment-sync-events-refused.md``) or ``failed`` (no answer or a 5xx: run it again; or the event
the backlog stopped at unknown to the processor: the backlog re-reads that second).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from remit.cli.output import fail, print_object, run_with_runtime
from remit.cli.reconcile import parse_since
from remit.money.sync import sync_payments
from remit.runtime import Runtime

app = typer.Typer(help="Payments: re-fetch what the mirror may hold stale.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """Add the ``payments`` group to the root ``app``."""
    root.add_typer(app, name="payments")


@app.command("sync")
def sync_command(
    since: Annotated[str | None, typer.Option("--since", help="Every row created since this date or age (7d).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be re-fetched; change nothing.")] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, max=100_000, help="At most this many stuck rows.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Re-fetch stale charges, invoices and subscriptions and apply them as the webhooks would."""
    if since:
        parse_since(since, datetime.now(UTC))

    async def main(runtime: Runtime) -> dict[str, Any]:
        start = parse_since(since, runtime.clock.now()) if since else None
        done = await sync_payments(runtime, since=start, dry_run=dry_run, limit=limit)
        return done.to_json()

    summary = run_with_runtime(main)
    print_object(summary, as_json=as_json)
    problem = event_read_problem(summary)
    if problem:
        fail(problem)


def event_read_problem(summary: dict[str, Any]) -> str | None:
    """The error line for a run whose event list was not read (None when it was, or was not asked): the
    processor's status, code and param, never its message (which may quote values)."""
    outcome, error = summary.get("event_read"), summary.get("event_error") or {}
    answer = " ".join(str(part) for part in (error.get("status_code") or "no answer", error.get("code")) if part)
    if error.get("param"):
        answer += f", param {error['param']}"
    if outcome == "refused":
        return (
            f"the processor refused the event list ({answer}); the cursor is kept, so no event is skipped, "
            "but rows changed only at the processor are not healed until the cause is fixed: "
            "see docs/runbooks/payment-sync-events-refused.md"
        )
    if outcome == "failed" and error.get("param") == "starting_after":
        return (
            f"the processor no longer knows the event the backlog stopped at ({answer}); the backlog reads that "
            "second again from its top: run it again"
        )
    if outcome == "failed":
        return f"the event list could not be read ({answer}); the cursor is kept: run it again"
    return None
