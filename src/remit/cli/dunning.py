"""``remit dunning``: who is in grace and until when, and what the sweeper would do now.

``list`` shows the open cases (in grace, or requested and awaiting the processor's confirmation); ``--all``
adds exhausted and recovered ones. ``sweep --dry-run`` prints the requests a sweep would make now (subscription,
attempt, action, idempotency key) without asking the processor anything; ``sweep`` runs one sweep now, which
queues its requests on ``remit_dunning`` for the workers.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from remit.cli.output import print_list, print_object, run_with_runtime
from remit.money.dunning import SWEEP_TASK_NAME, list_cases, plan_sweep
from remit.money.policy import CaseState, DunningPolicy
from remit.runtime import Runtime

app = typer.Typer(help="Dunning: past-due subscriptions, their grace, the sweeper.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
LIST_COLUMNS = ["subscription_id", "customer_id", "state", "grace_until", "attempts", "last_error", "source"]
PLAN_COLUMNS = ["subscription_id", "customer_id", "grace_until", "attempt", "action", "idempotency_key"]


def register(root: typer.Typer) -> None:
    """Add the ``dunning`` group to the root ``app``."""
    root.add_typer(app, name="dunning")


@app.command("list")
def list_command(
    show_all: Annotated[bool, typer.Option("--all", help="Also exhausted and recovered cases.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List dunning cases, the grace ending first."""
    states = tuple(CaseState) if show_all else (CaseState.IN_GRACE, CaseState.REQUESTED)

    async def main(runtime: Runtime) -> list[dict[str, Any]]:
        async with runtime.db.connect() as conn:
            return [case.to_json() for case in await list_cases(conn, states)]

    print_list(run_with_runtime(main), as_json=as_json, columns=LIST_COLUMNS, title="dunning cases")


@app.command("sweep")
def sweep_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what a sweep would ask; change nothing.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Run one dunning sweep now (or, with --dry-run, show what it would request)."""

    async def plan(runtime: Runtime) -> list[dict[str, Any]]:
        policy = DunningPolicy.from_settings(runtime.settings)
        async with runtime.db.connect() as conn:
            return [p.to_json() for p in await plan_sweep(conn, policy, runtime.clock.now())]

    async def run(runtime: Runtime) -> dict[str, Any]:
        counts = await runtime.engine.run_periodic(SWEEP_TASK_NAME, app=runtime, raise_errors=True)
        return dict(counts or {})

    if dry_run:
        print_list(run_with_runtime(plan), as_json=as_json, columns=PLAN_COLUMNS, title="a sweep now would request")
    else:
        print_object(run_with_runtime(run), as_json=as_json)
