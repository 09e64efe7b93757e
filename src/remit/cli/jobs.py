"""Job engine commands: ``remit worker``, ``remit queues``, ``remit jobs``."""

from __future__ import annotations

import asyncio
import errno
import gc
import getpass
import json
import signal
from typing import Annotated, Any

import typer

from remit import audit
from remit.cli.output import fail, fetch_limit, print_list, print_object, run_with_runtime
from remit.config import Settings
from remit.errors import UnknownJob
from remit.jobs.definition import JobDefinition
from remit.jobs.progress import JobNotFound, Progress
from remit.jobs.states import JobState
from remit.processor.credentials import ResumedQueue, resume_queue
from remit.runtime import Runtime
from remit.telemetry.exposition import MetricsServer, serve_process_metrics
from remit.webhooks.held import release_held

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of a table.")]
#: Exit code for a command line naming something that does not exist (as Click exits on a usage error).
USAGE_EXIT_CODE = 2
ActorOption = Annotated[str | None, typer.Option("--actor", help="Who is acting (default: operator:$USER).")]


def actor_of(given: str | None) -> str:
    """The audit trail's actor: as given, else ``operator:<login name>``."""
    if given:
        return given
    try:
        return f"operator:{getpass.getuser()}"
    except Exception:
        return "operator:cli"


def register(app: typer.Typer) -> None:
    """Add ``worker``, ``queues`` and ``jobs`` to the root ``app``."""
    app.command("worker")(worker_command)
    queues_app = typer.Typer(help="Queue depth, pause and resume.", invoke_without_command=True)
    queues_app.callback()(queues_command)
    queues_app.command("pause")(pause_command)
    queues_app.command("resume")(resume_command)
    app.add_typer(queues_app, name="queues")
    jobs_app = typer.Typer(help="Inspect and act on jobs.", no_args_is_help=True)
    jobs_app.command("list")(list_command)
    jobs_app.command("show")(show_command)
    jobs_app.command("follow")(follow_command)
    jobs_app.command("retry")(retry_command)
    jobs_app.command("cancel")(cancel_command)
    jobs_app.command("enqueue")(enqueue_command)
    app.add_typer(jobs_app, name="jobs")


def worker_command(
    queue_names: Annotated[str | None, typer.Option("--queues", help="Comma-separated queues (default: all).")] = None,
    imports: Annotated[list[str] | None, typer.Option("--import", help="Host module declaring jobs.")] = None,
    lead: Annotated[bool, typer.Option("--lead/--no-lead", help="Compete to run cron and maintenance.")] = True,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            min=0,
            max=65535,
            help="Serve this worker's own /metrics on this port (0: any free one); default REMIT_WORKER_METRICS_PORT, "
            "unset: none.",
        ),
    ] = None,
    metrics_host: Annotated[
        str | None,
        typer.Option("--metrics-host", help="Interface for --metrics-port (default REMIT_WORKER_METRICS_HOST)."),
    ] = None,
) -> None:
    """Run jobs until SIGTERM or SIGINT, then shut down gracefully. With --metrics-port (or
    REMIT_WORKER_METRICS_PORT) it serves its own job, periodic and ops-event counters on /metrics."""

    async def main(runtime: Runtime) -> None:
        address = metrics_address(runtime.settings, metrics_host, metrics_port)
        server = _serve_metrics(*address) if address is not None else None
        try:
            await _run_worker(runtime, queue_names, lead)
        finally:
            if server is not None:
                server.close()

    run_with_runtime(main, imports=imports or [])


def metrics_address(settings: Settings, host: str | None, port: int | None) -> tuple[str, int] | None:
    """Where ``remit worker`` serves its ``/metrics``: the options over the settings; None when no port is set."""
    chosen = port if port is not None else settings.worker_metrics_port
    if chosen is None:
        return None
    return (host or settings.worker_metrics_host, chosen)


def _serve_metrics(host: str, port: int) -> MetricsServer:
    """Start the worker's ``/metrics`` before anything else, so a port already taken exits 2 at once."""
    try:
        return serve_process_metrics(host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            fail(f"metrics port {port} in use on {host}; pass another --metrics-port", code=USAGE_EXIT_CODE)
        reason = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
        fail(
            f"cannot serve metrics on {host} port {port} ({reason}); check --metrics-host (REMIT_WORKER_METRICS_HOST)",
            code=USAGE_EXIT_CODE,
        )


async def _run_worker(runtime: Runtime, queue_names: str | None, lead: bool) -> None:
    # Gives up after REMIT_DB_CONNECT_TIMEOUT with DatabaseUnavailable: run_with_runtime exits 3 naming it.
    await runtime.db.wait_until_reachable(runtime.settings.db_connect_timeout)
    wanted = [name.strip() for name in queue_names.split(",") if name.strip()] if queue_names else None
    await release_held(runtime)  # events stored while billing was off, if it is on again
    gc.freeze()  # start-up objects never die: keep them out of the collector's full passes
    worker = runtime.worker(queues=wanted, lead=lead)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, worker.request_stop)
    await worker.run()


def queues_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """A table of each queue: depth by state, age of the oldest due job, paused."""
    if ctx.invoked_subcommand is not None:
        return

    async def main(runtime: Runtime) -> list[dict[str, Any]]:
        return [stats.to_json() for stats in await runtime.engine.queue_stats()]

    rows = run_with_runtime(main)
    print_list(
        rows,
        as_json=as_json,
        title="queues",
        columns=[
            "name",
            "depth",
            "available",
            "scheduled",
            "executing",
            "retryable",
            "discarded",
            "oldest_available_age_s",
            "paused",
            "concurrency",
        ],
    )


def _set_paused(name: str, paused: bool, actor: str | None) -> None:
    """Pause or resume a queue that exists: one configured (by key or name) or one that has jobs. A name
    nobody knows exits 2 naming the known queues, instead of pausing a queue no job will ever use. Resuming a
    queue that expired processor credentials paused clears the expiry and resumes the other queues it paused
    (:func:`remit.processor.credentials.resume_queue`)."""

    async def main(runtime: Runtime) -> ResumedQueue | list[str]:
        engine = runtime.engine
        known = [stats.name for stats in await engine.queue_stats()]
        if engine.queue_name(name) not in known:
            return known
        if paused:
            return ResumedQueue(await engine.pause(name, actor=actor_of(actor)))
        return await resume_queue(engine, runtime.processor.name, name, actor=actor_of(actor))

    outcome = run_with_runtime(main)
    if isinstance(outcome, list):
        fail(f"no queue {name!r}; the queues are: {', '.join(outcome)}", code=USAGE_EXIT_CODE)
    typer.echo(f"queue {outcome.name} {'paused' if paused else 'resumed'}")
    if outcome.cleared is not None:
        typer.echo(f"processor credentials ({outcome.cleared.processor}) are no longer marked expired")
    if outcome.also_resumed:
        typer.echo(f"also resumed, paused by the expiry: {', '.join(outcome.also_resumed)}")


def pause_command(name: str, actor: ActorOption = None) -> None:
    """Pause a queue: every worker stops claiming its jobs at once (running ones finish)."""
    _set_paused(name, True, actor)


def resume_command(name: str, actor: ActorOption = None) -> None:
    """Resume a paused queue. After expired processor credentials paused it (and the key was rotated), this
    also clears the expiry and resumes every queue the expiry paused."""
    _set_paused(name, False, actor)


STATES = ", ".join(state.value for state in JobState)


def parse_state(value: str | None) -> str | None:
    """``--state``: one of the job states, else a usage error (exit 2) naming them."""
    if value is not None and value not in {state.value for state in JobState}:
        raise typer.BadParameter(f"unknown state {value!r}; one of {STATES}", param_hint="'--state'")
    return value


def list_command(
    queue: Annotated[str | None, typer.Option(help="Only this queue.")] = None,
    state: Annotated[str | None, typer.Option(help=f"Only this state: {STATES}.")] = None,
    name: Annotated[str | None, typer.Option(help="Only jobs of this name.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List jobs, newest first."""
    state = parse_state(state)

    async def main(runtime: Runtime) -> list[dict[str, Any]]:
        found = await runtime.engine.list_jobs(queue=queue, state=state, name=name, limit=fetch_limit(limit))
        return [job.to_json() for job in found]

    rows = run_with_runtime(main)
    for row in rows:
        row["last_error"] = row["errors"][-1]["type"] if row["errors"] else None
    print_list(
        rows,
        limit=limit,
        as_json=as_json,
        title="jobs",
        columns=[
            "id",
            "queue",
            "name",
            "state",
            "attempt",
            "max_attempts",
            "scheduled_at",
            "last_error",
        ],
    )


def show_command(job_id: int, as_json: JsonOption = False) -> None:
    """Show one job with its errors."""

    async def main(runtime: Runtime) -> list[dict[str, Any]]:
        return [job.to_json() for job in await runtime.engine.list_jobs(ids=[job_id], limit=1)]

    found = run_with_runtime(main)
    if not found:
        fail(f"no job {job_id}")
    print_object(found[0], as_json)


def progress_line(snapshot: Progress) -> str:
    """One line of ``remit jobs follow`` (pure): ``job 42 reports.export executing 3/10 (30%) attempt 1/20``."""
    counts = ""
    if snapshot.done is not None:
        counts = f" {snapshot.done}/{snapshot.total}" if snapshot.total is not None else f" {snapshot.done}"
        if snapshot.fraction is not None:
            counts += f" ({snapshot.fraction:.0%})"
    return (
        f"job {snapshot.id} {snapshot.name} {snapshot.state}{counts} attempt {snapshot.attempt}/{snapshot.max_attempts}"
    )


def follow_command(
    job_id: int,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per change.")] = False,
    poll: Annotated[
        float | None, typer.Option(min=0.05, help="Seconds between reads when nothing notified (default: engine's).")
    ] = None,
) -> None:
    """Follow a job's progress until it finishes (PostgreSQL: LISTEN/NOTIFY; SQLite: polling). Exits 0 when it
    completed, 1 when it was discarded or cancelled, 2 when there is no such job."""

    async def main(runtime: Runtime) -> Progress | None:
        last: Progress | None = None
        try:
            async for snapshot in runtime.engine.follow(job_id, poll=poll):
                last = snapshot
                typer.echo(json.dumps(snapshot.to_json()) if as_json else progress_line(snapshot))
        except JobNotFound:
            return last
        return last

    final = run_with_runtime(main)
    if final is None:
        fail(f"no job {job_id}", code=USAGE_EXIT_CODE)
    if not final.finished:
        fail(f"job {job_id} is gone (pruned) before it was seen to finish")
    if final.state != JobState.COMPLETED:
        raise typer.Exit(1)


def retry_command(
    job_id: Annotated[int | None, typer.Argument(help="The job to retry.")] = None,
    discarded: Annotated[bool, typer.Option("--discarded", help="Retry discarded jobs in bulk.")] = False,
    queue: Annotated[str | None, typer.Option(help="With --discarded: only this queue.")] = None,
    name: Annotated[str | None, typer.Option(help="With --discarded: only jobs of this name.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="With --discarded: at most this many.")] = 1000,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be retried; change nothing.")] = False,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Put a job (or, with --discarded, many) back in its queue to run now. A job that cannot be retried
    (running, waiting or finished) exits 1, as a refused cancel does."""
    if (job_id is None) == (not discarded):
        fail("give a job id, or --discarded for bulk retry")

    async def main(runtime: Runtime) -> dict[str, Any]:
        if job_id is not None:
            targets = await runtime.engine.list_jobs(ids=[job_id], limit=1)
        else:
            targets = await runtime.engine.list_jobs(state=JobState.DISCARDED, queue=queue, name=name, limit=limit)
        ids = [job.id for job in targets]
        if dry_run:
            return {"dry_run": True, "matched": len(ids), "retried": 0, "job_ids": ids}
        retried = await runtime.engine.retry(ids, actor=actor_of(actor)) if ids else 0
        return {"dry_run": False, "matched": len(ids), "retried": retried, "job_ids": ids}

    result = run_with_runtime(main)
    if job_id is not None and result["matched"] == 0:
        fail(f"no job {job_id}")
    if as_json:
        print_object(result, True)
    else:
        verb = "would retry" if dry_run else "retried"
        typer.echo(f"{verb} {result['matched'] if dry_run else result['retried']} of {result['matched']} job(s)")
    if job_id is not None and not dry_run and result["retried"] == 0:  # refused, as `jobs cancel` is: exit 1
        fail(
            f"job {job_id} is running, waiting or has finished: only a discarded, cancelled, retryable or "
            "scheduled job can be retried"
        )


def cancel_command(
    job_id: int,
    reason: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "cancelled by operator",
    actor: ActorOption = None,
) -> None:
    """Cancel a job that has not finished and is not running."""

    async def main(runtime: Runtime) -> bool:
        return await runtime.engine.cancel(job_id, actor=actor_of(actor), reason=reason)

    if not run_with_runtime(main):
        fail(f"job {job_id} does not exist, is running, or has already finished")
    typer.echo(f"job {job_id} cancelled")


def enqueue_command(
    name: str,
    args: Annotated[str, typer.Option("--args", help="The job's arguments as a JSON object.")] = "{}",
    queue: Annotated[str | None, typer.Option(help="Queue (default: the job's own).")] = None,
    delay: Annotated[float | None, typer.Option(help="Run after this many seconds.")] = None,
    imports: Annotated[list[str] | None, typer.Option("--import", help="Host module declaring the job.")] = None,
    actor: ActorOption = None,
) -> None:
    """Enqueue a job by name by hand (runbooks use this to requeue work)."""
    try:
        parsed = json.loads(args)
    except json.JSONDecodeError as exc:
        fail(f"--args is not valid JSON ({exc.msg} at position {exc.pos})")
    if not isinstance(parsed, dict):
        fail("--args must be a JSON object")

    async def main(runtime: Runtime) -> int | None:
        engine = runtime.engine
        if name not in engine.registry and queue is None:
            fail(f"no job is registered as {name!r}; name its --queue or --import its module")
        async with runtime.db.begin() as conn:
            job = name if name in engine.registry else _adhoc(name, queue or "")
            job_id = await engine.enqueue(
                conn, job, parsed, queue=queue, delay=delay, meta={"enqueued_by": actor_of(actor)}
            )
            await audit.record(
                conn,
                at=runtime.clock.now(),
                actor=actor_of(actor),
                action="jobs.enqueue",
                subject=f"job:{job_id}",
                details={"name": name},
            )
        return job_id

    try:
        job_id = run_with_runtime(main, imports=imports or [])
    except UnknownJob as exc:
        fail(str(exc))
    if job_id is None:
        typer.echo("a pending job with the same unique key already exists; nothing enqueued")
    else:
        typer.echo(f"enqueued job {job_id}")


def _adhoc(name: str, queue: str) -> JobDefinition:
    """A definition for a job this process does not know (its worker will): name and queue only."""

    async def _unknown(*_: Any, **__: Any) -> None:  # pragma: no cover - never run here
        raise UnknownJob(name)

    return JobDefinition(name=name, func=_unknown, queue=queue)
