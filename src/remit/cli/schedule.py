"""Periodic work commands: ``remit schedule list``.

Lists every periodic task and cron entry this installation schedules — remit's own upkeep (``jobs.rescue``,
``jobs.prune``), its parts' tasks (``webhooks.prune``), and the host's (``REMIT_JOB_MODULES``, ``--import``) —
with what the database recorded of each: the last run, its outcome and counts, and the next run. Entries
recorded by some worker but declared by no module this command imported are listed too, marked
``declared: false``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from remit.cli.output import print_list, run_with_runtime
from remit.runtime import Runtime

app = typer.Typer(help="Periodic tasks and cron entries: schedule, last run, next run.", no_args_is_help=True)

COLUMNS = ["name", "schedule", "leader_only", "queue", "last_run_at", "last_outcome", "next_run_at"]


@app.command("list")
def list_command(
    imports: Annotated[list[str] | None, typer.Option("--import", help="Host module declaring tasks.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array instead of a table.")] = False,
) -> None:
    """Every periodic task and cron entry: schedule, leader-only, queue, last run, last outcome, next run."""

    async def main(runtime: Runtime) -> list[dict[str, Any]]:
        return [entry.to_json() for entry in await runtime.engine.schedule()]

    rows = run_with_runtime(main, imports=imports or [])
    print_list(rows, as_json=as_json, columns=COLUMNS, title="schedule")


def register(root: typer.Typer) -> None:
    """Add ``schedule`` to the root ``app``."""
    root.add_typer(app, name="schedule")


__all__ = ["app", "list_command", "register"]
