"""``remit reconcile fees``: one fee pass now (see ``docs/money.md``, "Fee reconciliation").

``--since`` widens the window back to a date (``2025-06-01``) or an age (``30d``, ``12h``); ``--include-recent``
moves its end to now (the fake processor settles at once); ``--dry-run`` lists and decides, and writes and
emits nothing. The answer counts processor calls, transactions seen, fees recorded,
unchanged and drifted, and revenue losses raised.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from remit.cli.output import print_object, run_with_runtime
from remit.money.reconcile import reconcile_fees
from remit.runtime import Runtime

app = typer.Typer(help="Reconciliation with the processor: fees.", no_args_is_help=True)

_AGE = re.compile(r"^(\d+)([dh])$")


def register(root: typer.Typer) -> None:
    """Add the ``reconcile`` group to the root ``app``."""
    root.add_typer(app, name="reconcile")


def parse_since(value: str, now: datetime) -> datetime:
    """``30d``/``12h`` before ``now``, or an ISO date or time (UTC when it names no zone)."""
    age = _AGE.match(value.strip())
    if age:
        amount, unit = int(age.group(1)), age.group(2)
        return now - (timedelta(days=amount) if unit == "d" else timedelta(hours=amount))
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(
            "give an age such as 30d or 12h, or a date such as 2025-06-01", param_hint="'--since'"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@app.command("fees")
def fees_command(
    since: Annotated[str | None, typer.Option("--since", help="Reconcile back to this date or age (30d).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide only; write and emit nothing.")] = False,
    include_recent: Annotated[
        bool,
        typer.Option(
            "--include-recent", help="Also what is younger than REMIT_FEES_SETTLE_HOURS (the fake settles at once)."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Run one fee-reconciliation pass now."""

    async def main(runtime: Runtime) -> dict[str, Any]:
        start = parse_since(since, runtime.clock.now()) if since else None
        until = runtime.clock.now() if include_recent else None
        done = await reconcile_fees(runtime, since=start, until=until, dry_run=dry_run)
        return done.to_json()

    if since:
        parse_since(since, datetime.now(UTC))  # a bad value is a usage error before anything connects
    print_object(run_with_runtime(main), as_json=as_json)
