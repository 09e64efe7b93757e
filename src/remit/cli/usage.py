"""``remit usage``: declared meters, usage records, retries of failed ones, rollups and the backfill.

``meters`` lists what hosts may report to (``REMIT_METERS``); ``list`` and ``show`` the local records (their
status, attempts, error code); ``retry --status failed`` puts failed records back to pending after the cause
is fixed (audited; ``--dry-run`` only counts); ``rollups`` prints a customer's hourly or daily usage;
``backfill`` queues one recompute job per period and follows them with a progress bar; ``loadtest`` reports
synthetic usage through the real path and queues and prints throughput, queue depths and lag.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Annotated, Any

import httpx
import typer
from rich.console import RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from remit.cli.output import fail, fetch_limit, print_list, print_object, run_with_runtime
from remit.cli.webhooks import default_actor
from remit.jobs.states import JobState
from remit.runtime import Runtime
from remit.usage import records
from remit.usage.backfill import enqueue_backfill
from remit.usage.loadtest import (
    INVOICE_QUEUES,
    USAGE_QUEUES,
    LoadPlan,
    LoadResult,
    LoadTestRefused,
    api_sender,
    run_load,
)
from remit.usage.loadtest import Progress as LoadProgress
from remit.usage.operator import failed_records, retry_failed
from remit.usage.records import MeterEventState
from remit.usage.rollups import Resolution, list_rollups

app = typer.Typer(help="Usage metering: meters, records, retries, rollups, backfill.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
LIST_COLUMNS = ["id", "operation_id", "customer", "meter", "value", "timestamp", "status", "attempts", "error_code"]
FINISHED_JOBS = {JobState.COMPLETED, JobState.DISCARDED, JobState.CANCELLED}


def register(root: typer.Typer) -> None:
    """Add the ``usage`` group to the root ``app``."""
    root.add_typer(app, name="usage")


def _decimals(runtime: Runtime, meter: str) -> int:
    spec = runtime.settings.meters.get(meter)
    return spec.decimals if spec is not None else 0


def parse_moment(value: str, option: str) -> datetime:
    """A date (``2024-08-01``) or an ISO 8601 time; naive means UTC."""
    try:
        moment = datetime.fromisoformat(value) if "T" in value or " " in value else None
        if moment is None:
            day = date.fromisoformat(value)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    except ValueError:
        raise typer.BadParameter("not a date (YYYY-MM-DD) or ISO 8601 time", param_hint=option) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _resolution(value: str) -> Resolution:
    try:
        return Resolution(value)
    except ValueError:
        raise typer.BadParameter("one of hourly, daily", param_hint="'--resolution'") from None


@app.command("meters")
def meters_command(as_json: JsonOption = False) -> None:
    """The declared meters (REMIT_METERS): name, the processor's event name, aggregation, decimals."""

    async def main(runtime: Runtime) -> list[dict[str, Any]]:
        return [
            {"name": m.name, "event_name": m.event_name, "aggregation": m.aggregation, "decimals": m.decimals}
            for m in runtime.settings.meters.values()
        ]

    columns = ["name", "event_name", "aggregation", "decimals"]
    print_list(run_with_runtime(main), as_json=as_json, columns=columns, title="meters")


@app.command("list")
def list_command(
    status: Annotated[
        str | None, typer.Option("--status", help="Only this status (pending, reported, failed).")
    ] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer id.")] = None,
    meter: Annotated[str | None, typer.Option("--meter", help="Only this meter.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="At most this many.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List usage records, newest first."""
    states = []
    if status is not None:
        try:
            states = [MeterEventState(status)]
        except ValueError:
            raise typer.BadParameter("one of pending, reported, failed", param_hint="'--status'") from None

    async def main(runtime: Runtime) -> list[dict[str, Any]]:
        async with runtime.db.connect() as conn:
            found = await records.list_meter_events(
                conn, states=states, customer_id=customer, meter=meter, limit=fetch_limit(limit)
            )
        return [r.to_json(_decimals(runtime, r.meter)) for r in found]

    rows = run_with_runtime(main)
    print_list(rows, limit=limit, as_json=as_json, columns=LIST_COLUMNS, title="usage")


@app.command("show")
def show_command(
    operation_id: Annotated[str, typer.Argument(metavar="OPERATION_ID", help="The operation id it was reported with.")],
    as_json: JsonOption = False,
) -> None:
    """One usage record by its operation id."""

    async def main(runtime: Runtime) -> dict[str, Any] | None:
        async with runtime.db.connect() as conn:
            found = await records.get_meter_event(conn, operation_id)
        return None if found is None else found.to_json(_decimals(runtime, found.meter))

    shown = run_with_runtime(main)
    if shown is None:
        fail("no usage record with that operation id (remit usage list)")
    print_object(shown, as_json)


@app.command("retry")
def retry_command(
    status: Annotated[str, typer.Option("--status", help="Only failed records can be retried.")] = "failed",
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer id.")] = None,
    meter: Annotated[str | None, typer.Option("--meter", help="Only this meter.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be retried; change nothing.")] = False,
    actor: Annotated[str | None, typer.Option("--actor", help="Who is acting (default: operator:$USER).")] = None,
) -> None:
    """Put failed records back to pending, each with a report job (after the cause is fixed; audited)."""
    if status != MeterEventState.FAILED.value:
        raise typer.BadParameter("only failed records are retried", param_hint="'--status'")
    who = default_actor(actor)

    async def main(runtime: Runtime) -> int:
        if dry_run:
            return len(await failed_records(runtime, customer_id=customer, meter=meter))
        return len(await retry_failed(runtime, actor=who, customer_id=customer, meter=meter))

    count = run_with_runtime(main)
    if dry_run:
        typer.echo(f"{count} failed usage records would be retried (dry run: nothing changed)")
    else:
        typer.echo(f"{count} failed usage records are pending again, with report jobs on remit_meters")


@app.command("rollups")
def rollups_command(
    customer: Annotated[str, typer.Option("--customer", help="The customer id.")],
    start: Annotated[str, typer.Option("--start", help="First day or time (UTC), e.g. 2024-08-01.")],
    end: Annotated[str, typer.Option("--end", help="End (exclusive), e.g. 2024-09-01.")],
    resolution: Annotated[str, typer.Option("--resolution", help="hourly or daily.")] = "daily",
    meter: Annotated[str | None, typer.Option("--meter", help="Only this meter.")] = None,
    as_json: JsonOption = False,
) -> None:
    """A customer's usage per hour or day, as the rollups hold it."""
    chosen = _resolution(resolution)
    lo, hi = parse_moment(start, "'--start'"), parse_moment(end, "'--end'")

    async def main(runtime: Runtime) -> list[dict[str, Any]]:
        async with runtime.db.connect() as conn:
            found = await list_rollups(conn, customer_id=customer, resolution=chosen, start=lo, end=hi, meter=meter)
        return [r.to_json(_decimals(runtime, r.meter)) for r in found]

    columns = ["period_start", "meter", "value", "events"]
    print_list(run_with_runtime(main), as_json=as_json, columns=columns, title="usage rollups")


async def _resolve_customer(runtime: Runtime, customer: str | None, subscription: str | None) -> str | None:
    """The customer to backfill: as given, or the mirrored subscription's customer."""
    if subscription is None:
        return customer
    from remit.billing.mirror import get_object

    async with runtime.db.connect() as conn:
        found = await get_object(conn, "subscription", subscription)
    owner = None if found is None else found.data.get("customer")
    if isinstance(owner, dict):
        owner = owner.get("id")
    if customer is not None and owner is not None and owner != customer:
        fail("that subscription belongs to another customer")
    return customer or (owner if isinstance(owner, str) else None)


@app.command("backfill")
def backfill_command(
    start: Annotated[str, typer.Option("--start", help="First day or time (UTC), e.g. 2024-08-01.")],
    end: Annotated[str, typer.Option("--end", help="End (exclusive), e.g. 2024-09-01.")],
    customer: Annotated[str | None, typer.Option("--customer", help="The customer id.")] = None,
    subscription: Annotated[
        str | None, typer.Option("--subscription", help="A mirrored subscription: its customer is backfilled.")
    ] = None,
    resolution: Annotated[str, typer.Option("--resolution", help="hourly or daily.")] = "daily",
    meters: Annotated[str | None, typer.Option("--meters", help="Comma-separated meters (default: all).")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the jobs until they finish.")] = True,
    inline: Annotated[bool, typer.Option("--inline", help="Run the jobs in this process (no worker needed).")] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Stop following after this many s.")] = 600,
) -> None:
    """Recompute rollups over a window: one unique job per period on remit_usage (safe to run again)."""
    chosen = _resolution(resolution)
    lo, hi = parse_moment(start, "'--start'"), parse_moment(end, "'--end'")
    if hi <= lo:
        raise typer.BadParameter("must be after --start", param_hint="'--end'")
    if customer is None and subscription is None:
        raise typer.BadParameter("give --customer or --subscription", param_hint="'--customer'")

    async def main(runtime: Runtime) -> dict[str, Any]:
        who = await _resolve_customer(runtime, customer, subscription)
        if who is None:
            fail("that subscription is not in the mirror (remit billing sync, or pass --customer)")
        declared = runtime.settings.meters
        chosen_meters = [m.strip() for m in meters.split(",") if m.strip()] if meters else list(declared)
        unknown = [m for m in chosen_meters if m not in declared]
        if unknown or not chosen_meters:
            fail("unknown meter in --meters (remit usage meters)")
        try:
            periods, ids = await enqueue_backfill(
                runtime, customer_id=who, meters=chosen_meters, resolution=chosen, start=lo, end=hi
            )
        except ValueError as error:
            fail(str(error))
        summary: dict[str, Any] = {"periods": periods, "queued": len(ids), "already_queued": periods - len(ids)}
        if inline:
            await runtime.drain(["remit_usage"], max_rounds=10_000)
        if wait or inline:
            summary.update(await _follow(runtime, ids, timeout))
        async with runtime.db.connect() as conn:
            found = await list_rollups(conn, customer_id=who, resolution=chosen, start=lo, end=hi, limit=100_000)
        summary["rollups"] = len([r for r in found if r.meter in chosen_meters])
        summary["events"] = sum(r.events for r in found if r.meter in chosen_meters)
        return summary

    summary = run_with_runtime(main)
    typer.echo(
        f"backfill: {summary['periods']} periods, {summary['queued']} jobs queued, "
        f"{summary['already_queued']} already queued"
        + (f", {summary['completed']} completed, {summary['failed']} failed" if "completed" in summary else "")
        + f"; {summary['rollups']} rollups now hold {summary['events']} events"
    )


async def _follow(runtime: Runtime, ids: list[int], timeout: float) -> dict[str, int]:
    """Poll the jobs ``ids`` with a progress bar until they finish or ``timeout`` passes."""
    done: dict[int, JobState] = {}
    deadline = time.monotonic() + timeout
    columns = (TextColumn("recomputing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("backfill", total=len(ids))
        while len(done) < len(ids) and time.monotonic() < deadline:
            waiting = [i for i in ids if i not in done]
            for start in range(0, len(waiting), 500):
                chunk = waiting[start : start + 500]
                for found in await runtime.engine.list_jobs(ids=chunk, limit=len(chunk)):
                    if found.state in FINISHED_JOBS:
                        done[found.id] = found.state
            progress.update(task, completed=len(done))
            if len(done) < len(ids):
                await asyncio.sleep(0.5)
    completed = sum(1 for state in done.values() if state is JobState.COMPLETED)
    return {"completed": completed, "failed": len(done) - completed, "unfinished": len(ids) - len(done)}


def production_reason(runtime: Runtime) -> str | None:
    """Why this configuration looks like production (a load test there needs ``--yes``), or None."""
    if runtime.settings.is_production:
        return "REMIT_ENV=production"
    key = runtime.settings.stripe_api_key or ""
    if runtime.settings.processor == "stripe" and key.startswith(("sk_live_", "rk_live_")):
        return "a live Stripe key"
    return None


class WaitingProgress(Progress):
    """Progress bars with a line below them saying what the run waits for (wrapped, never cut off by the
    bars' width)."""

    waiting = ""

    def get_renderables(self) -> Iterable[RenderableType]:
        yield from super().get_renderables()
        if self.waiting:
            yield Text(f"waiting for {self.waiting}", style="dim")


@app.command("loadtest")
def loadtest_command(
    customers: Annotated[int, typer.Option("--customers", min=1, help="Customers to create at the processor.")],
    days: Annotated[int, typer.Option("--days", min=1, help="Days of usage, ending now (at most 34).")],
    events_per_day: Annotated[int, typer.Option("--events-per-day", min=1, help="Events per customer per day.")],
    invoices: Annotated[
        bool, typer.Option("--invoices", help="Also subscribe each customer: invoices flow to remit_invoices.")
    ] = False,
    price: Annotated[
        str | None, typer.Option("--price", help="The price to subscribe to with --invoices (needed for stripe).")
    ] = None,
    meter: Annotated[str | None, typer.Option("--meter", help="The meter (default: the first declared).")] = None,
    batch: Annotated[int, typer.Option("--batch", min=1, max=1000, help="Events per report batch.")] = 500,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=32, help="Parallel producers.")] = 2,
    inline: Annotated[bool, typer.Option("--inline", help="Run the jobs in this process (no worker needed).")] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Stop following after this many s.")] = 600,
    api: Annotated[
        str | None, typer.Option("--api", help="Report over HTTP to this running remit (POST /api/v1/usage).")
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", help="Bearer token for --api (default: the first REMIT_SERVICE_TOKENS).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Run even against a production configuration.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Generate usage through the real reporting path and queues; print throughput, queue depths and lag."""

    async def main(runtime: Runtime) -> LoadResult:
        reason = production_reason(runtime)
        if reason is not None and not yes:
            fail(f"refusing to load-test a production configuration ({reason}): pass --yes if you mean it")
        declared = list(runtime.settings.meters)
        chosen = meter or (declared[0] if declared else None)
        if chosen is None or chosen not in runtime.settings.meters:
            fail("unknown meter in --meter (remit usage meters)")
        try:
            plan = LoadPlan(customers, days, events_per_day, chosen, batch=batch, concurrency=concurrency)
        except LoadTestRefused as error:
            fail(str(error))
        queues = [runtime.engine.queue_name(q) for q in USAGE_QUEUES + (INVOICE_QUEUES if invoices else ())]

        async def drain_forever() -> None:
            while True:
                await runtime.drain(queues, max_rounds=10_000)
                await asyncio.sleep(0.2)

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with WaitingProgress(*columns, transient=as_json, disable=as_json) as bar:
            stored = bar.add_task("creating customers", total=plan.total)
            settled = bar.add_task("reported", total=plan.total)

            def show(p: LoadProgress) -> None:
                # The line below the bars says what the run waits for: the webhook the fake is delivering during
                # the setup (it answers a call only after delivering its events), then what the follow-up
                # still needs (events to be reported, the rollup, invoices, busy queues).
                bar.waiting = p.waiting if p.phase != "reporting" else ""
                if p.phase in ("customers", "subscribing"):
                    what = "creating customers" if p.phase == "customers" else "subscribing"
                    bar.update(stored, completed=0, description=f"{what} {p.made}/{plan.customers}")
                    return
                bar.update(stored, completed=p.stored, description="reporting")
                bar.update(settled, completed=p.settled, description="reported")

            bearer = token or (runtime.settings.service_tokens[0] if runtime.settings.service_tokens else None)
            if api is not None and bearer is None:
                fail("--api needs a service token: --token, or REMIT_SERVICE_TOKENS")
            async with httpx.AsyncClient(timeout=60.0) as client:
                try:
                    return await run_load(
                        runtime,
                        plan,
                        invoices=invoices,
                        price=price,
                        timeout=timeout,
                        on_progress=show,
                        background=drain_forever if inline else None,
                        sender=api_sender(client, api, bearer) if api is not None and bearer else None,
                    )
                except (LoadTestRefused, httpx.HTTPError) as error:
                    fail(str(error) if isinstance(error, LoadTestRefused) else f"--api: {type(error).__name__}")

    result = run_with_runtime(main)
    if as_json:
        print_object(result.to_json(), True)
    else:
        _print_load_result(result)
    if not result.finished:
        raise typer.Exit(1)


def _print_load_result(result: LoadResult) -> None:
    figures = result.to_json()
    states = ", ".join(f"{count} {state}" for state, count in result.states.items())
    typer.echo(f"load test {result.run}: {result.customers} customers, {result.events} events ({states})")
    typer.echo(f"  reporting     {figures['report_per_s']:>12,.0f} events/s   ({figures['report_s']:.2f} s)")
    typer.echo(f"  end to end    {figures['end_to_end_per_s']:>12,.0f} events/s   ({figures['end_to_end_s']:.2f} s)")
    typer.echo(
        f"  lag to reported   p50 {figures['lag_p50_s']:.2f} s   p95 {figures['lag_p95_s']:.2f} s   "
        f"max {figures['lag_max_s']:.2f} s"
    )
    rollup = "not caught up" if result.rollup_s is None else f"{result.rollup_s:.2f} s after the last report"
    typer.echo(f"  rollups       {rollup}")
    for name in result.peak_depths:
        typer.echo(f"  queue {name:<16} depth {result.depths.get(name, 0):>7}   peak {result.peak_depths[name]:>7}")
    if result.subscriptions:
        typer.echo(f"  subscriptions {result.subscriptions}, {result.invoices} with their invoice in the mirror")
    if result.webhooks:
        hooks = result.webhooks
        typer.echo(
            f"  webhooks      {hooks['delivered']:.0f} delivered, {hooks['failed']:.0f} failed during the setup   "
            f"p50 {hooks['p50_s']:.2f} s   max {hooks['max_s']:.2f} s"
        )
    if not result.finished:
        typer.echo(f"not finished in time, still waiting for {result.waiting}")
        typer.echo("is a worker running? (remit worker, or pass --inline)")


__all__ = ["app", "parse_moment", "production_reason", "register"]
