"""``remit provisioning``: the hand-off from a paid checkout to a provisioned tenant, for operators.

``list`` and ``show`` are read-only triage (the runbook's columns, ``payload_missing`` included; ``--stuck``
lists exactly the rows the gauge ``remit_provisioning_stuck`` counts, through the same query). ``rearm`` and
``link`` change a job, audited under ``--actor``, and take ``--dry-run``; ``reconcile`` runs the reconciler
once and prints its summary; ``orchestrator`` runs the stand-in orchestrator for local use. See
``docs/provisioning.md`` and ``docs/runbooks/provisioning-stuck.md``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from remit.cli.output import dumps, fail, fetch_limit, print_list, print_object, run_with_runtime
from remit.cli.webhooks import default_actor
from remit.provisioning import jobs_table
from remit.provisioning.operator import Outcome, Refused, link, rearm
from remit.provisioning.reconciler import reconcile
from remit.provisioning.states import ProvisioningStatus
from remit.runtime import Runtime

app = typer.Typer(help="Provisioning: paid checkouts handed to the orchestrator.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Say what would change; write nothing.")]
ActorOption = Annotated[str | None, typer.Option("--actor", help="Who is acting (default: operator:$USER).")]
LIST_COLUMNS = [
    "id",
    "account_id",
    "stripe_session_id",
    "status",
    "attempts",
    "last_error",
    "deployment_id",
    "cell_id",
    "payload_missing",
    "last_attempt_at",
    "updated_at",
]


def register(root: typer.Typer) -> None:
    """Add the ``provisioning`` group to the root ``app``."""
    root.add_typer(app, name="provisioning")


@app.command("list")
def list_command(
    status: Annotated[
        str | None, typer.Option("--status", help="Only this status (enqueued, provisioning, provisioned, failed).")
    ] = None,
    stuck: Annotated[bool, typer.Option("--stuck", help="Only the jobs the stuck gauge counts.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="At most this many.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """List provisioning jobs, oldest last attempt or status change first."""
    chosen: list[ProvisioningStatus] | None = None
    if status is not None:
        try:
            chosen = [ProvisioningStatus(status)]
        except ValueError:
            raise typer.BadParameter(
                f"unknown status {status!r}; one of {', '.join(s.value for s in ProvisioningStatus)}",
                param_hint="'--status'",
            ) from None

    async def main(runtime: Runtime) -> list[dict[str, Any]]:
        settings = runtime.settings
        window = (runtime.clock.now(), settings.provisioning_stuck_seconds, settings.provisioning_max_attempts)
        async with runtime.db.connect() as conn:
            found = await jobs_table.list_jobs(
                conn, statuses=chosen, stuck=window if stuck else None, limit=fetch_limit(limit)
            )
        return [job.to_json() for job in found]

    rows = run_with_runtime(main)
    print_list(rows, limit=limit, as_json=as_json, columns=LIST_COLUMNS, title="provisioning jobs")


@app.command("show")
def show_command(
    key: Annotated[
        str,
        typer.Argument(
            metavar="JOB_ID|SESSION_ID", help="The job's id (the first column of list) or its checkout session id."
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """One job by its id or its checkout session id: the triage columns.

    list shows the id first and rearm takes it, so show takes it too; a session id (cs_…) is never all
    digits.
    """

    async def main(runtime: Runtime) -> dict[str, Any] | None:
        async with runtime.db.connect() as conn:
            if key.isdigit():
                job = await jobs_table.get_job(conn, int(key))
            else:
                job = await jobs_table.get_by_session(conn, key)
        return job.to_json() if job else None

    found = run_with_runtime(main)
    if found is None:
        fail(f"no provisioning job {key!r} (an id or a checkout session id from: remit provisioning list)")
    print_object(found, as_json)


def _report(outcome: Outcome, verb: str, dry_run: bool) -> None:
    job = outcome.job
    if dry_run:
        typer.echo(f"dry run: job {job.id} ({job.stripe_session_id}, {job.status.value}) would be {verb}")
    elif outcome.changed:
        typer.echo(f"job {job.id} ({job.stripe_session_id}) {verb}: now {job.status.value}")
    else:
        typer.echo(f"job {job.id} ({job.stripe_session_id}) unchanged: {job.status.value}")


@app.command("rearm")
def rearm_command(
    job_id: Annotated[int, typer.Argument(metavar="JOB_ID", help="The job's id (see list).")],
    force: Annotated[bool, typer.Option("--force", help="Re-arm even though the trigger is not configured.")] = False,
    actor: ActorOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Reset a stuck job's attempts (payload kept) so the next reconcile re-drives it; audited."""
    who = default_actor(actor)

    async def main(runtime: Runtime) -> Outcome:
        return await rearm(runtime, job_id, actor=who, force=force, dry_run=dry_run)

    try:
        outcome = run_with_runtime(main)
    except Refused as refused:
        fail(str(refused))
    _report(outcome, "re-armed", dry_run)
    if not dry_run:
        typer.echo("next: remit provisioning reconcile")


@app.command("link")
def link_command(
    session_id: Annotated[str, typer.Argument(metavar="SESSION_ID", help="The checkout session id (cs_…).")],
    deployment: Annotated[str, typer.Option("--deployment", help="The deployment the orchestrator minted.")],
    cell: Annotated[str | None, typer.Option("--cell", help="The cell it runs in.")] = None,
    quota: Annotated[int, typer.Option("--quota", min=0, help="Token quota; 0 keeps the account's.")] = 0,
    actor: ActorOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Hand-link a session whose callback never landed: the callback's own idempotent update; audited."""
    who = default_actor(actor)

    async def main(runtime: Runtime) -> Outcome:
        return await link(
            runtime, session_id, deployment_id=deployment, cell_id=cell, tokens_quota=quota, actor=who, dry_run=dry_run
        )

    try:
        outcome = run_with_runtime(main)
    except Refused as refused:
        fail(str(refused))
    _report(outcome, "linked", dry_run)


CALLBACK_PATH = "/api/internal/provisioning/callback"


@app.command("orchestrator")
def orchestrator_command(
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8790,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    remit_url: Annotated[
        str, typer.Option("--remit-url", help="remit's base URL; the callback goes to its callback path.")
    ] = "http://127.0.0.1:8000",
    delay: Annotated[float, typer.Option("--delay", min=0, help="Seconds before calling back.")] = 0.0,
    fail_status: Annotated[
        int | None, typer.Option("--fail-status", min=400, max=599, help="Answer every trigger with this status.")
    ] = None,
    outcome: Annotated[
        str, typer.Option("--outcome", help="What the callback reports: provisioned or failed.")
    ] = "provisioned",
    no_callback: Annotated[bool, typer.Option("--no-callback", help="Accept triggers but never call back.")] = False,
    hold: Annotated[float, typer.Option("--hold", min=0, help="Seconds before answering each trigger (slow).")] = 0.0,
) -> None:
    """Run the stand-in orchestrator (local use and tests): verifies triggers with PROVISIONING_TRIGGER_SECRET,
    answers 202, then calls remit back signed with the callback secret; GET /triggers reports what it saw."""
    import uvicorn

    from remit.cli.output import load_settings_or_exit
    from remit.provisioning.orchestrator import TRIGGER_PATH, StandInOrchestrator

    if outcome not in ("provisioned", "failed"):
        raise typer.BadParameter("one of provisioned, failed", param_hint="'--outcome'")
    settings = load_settings_or_exit()
    secret = settings.provisioning_trigger_secret
    if not secret:
        fail("PROVISIONING_TRIGGER_SECRET is not set: the stand-in verifies triggers with it")
    stand_in = StandInOrchestrator(
        trigger_secret=secret,
        callback_url=remit_url.rstrip("/") + CALLBACK_PATH,
        callback_secret=settings.provisioning_callback_secret,
        delay=delay,
        fail_status=fail_status,
        outcome=outcome,
        call_back=not no_callback,
        hold=hold,
    )
    # The URL carries no secret; it is what PROVISIONING_TRIGGER_URL must be set to.
    typer.echo(f"stand-in orchestrator: PROVISIONING_TRIGGER_URL=http://{host}:{port}{TRIGGER_PATH}", err=True)
    uvicorn.run(stand_in.app, host=host, port=port, log_level="warning", lifespan="off", server_header=False)


@app.command("reconcile")
def reconcile_command() -> None:
    """Run the reconciler once now; print its JSON summary."""
    typer.echo(dumps(run_with_runtime(reconcile)))


__all__ = ["app", "register"]
