"""``remit webhooks``: inspect stored events and work the dead-letter queue.

``list`` / ``show`` / ``replay`` / ``prune`` / ``release``. Listings take ``--json`` and print one JSON array;
``show`` prints the raw body only with ``--body``, and the event's audit trail (who replayed it, when) under
``history``. Replays and prunes are audited under ``--actor`` (default ``operator:$USER``). A bad option value
exits 2 with a usage error; a database that cannot be reached exits 3 (as ``remit migrate`` does) with one
line on stderr, never a traceback. Other parts add their own commands to :data:`app` (e.g. ``register``,
``check``).
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

import typer

from remit.cli.hints import command
from remit.cli.output import fail, fetch_limit, print_list, print_object, run_with_runtime
from remit.clock import parse_instant
from remit.errors import WebhookError
from remit.runtime import Runtime
from remit.webhooks.dead_letters import EventFilter, audit_trail, get_event, list_events
from remit.webhooks.events import REPLAYABLE, EventStatus
from remit.webhooks.held import release_held
from remit.webhooks.prune import prune_events
from remit.webhooks.replay import replay_event, replay_matching

T = TypeVar("T")

app = typer.Typer(help="Stored webhook events: list, show, replay, prune, release.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ActorOption = Annotated[str | None, typer.Option("--actor", help="Who is acting (default: operator:$USER).")]
StatusOption = Annotated[
    str | None, typer.Option("--status", help=f"Only this status: {', '.join(s.value for s in EventStatus)}.")
]
ReplayStatusOption = Annotated[
    str | None,
    typer.Option("--status", help=f"Replay events of this status: {' or '.join(sorted(REPLAYABLE))} (default dead)."),
]
TypeOption = Annotated[str | None, typer.Option("--type", help="Event type or pattern, e.g. 'invoice.*'.")]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since", help="Received at or after: a date (2026-03-01), a time (2026-03-01T12:00Z) or an age (7d, 12h)."
    ),
]

LIST_COLUMNS = ["id", "event_id", "type", "status", "endpoint", "attempts", "received_at", "error"]
_AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def register(root: typer.Typer) -> None:
    """Add the ``webhooks`` group to the root ``app``."""
    root.add_typer(app, name="webhooks")


def parse_since(value: str | None, now: datetime) -> datetime | None:
    """``--since``: an ISO date or time (UTC unless it says otherwise), or an age before ``now`` (pure)."""
    if value is None:
        return None
    text = value.strip()
    age = _AGE.match(text)
    if age:
        try:
            return now - timedelta(seconds=float(age.group(1)) * _UNITS[age.group(2)])
        except OverflowError:  # an age reaching before year 1 (or past timedelta's range)
            raise typer.BadParameter(f"{value!r} reaches too far back", param_hint="'--since'") from None
    try:
        return parse_instant(text)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date, a time or an age like 7d", param_hint="'--since'") from None


def parse_status(value: str | None) -> EventStatus | None:
    if value is None:
        return None
    try:
        return EventStatus(value)
    except ValueError:
        raise typer.BadParameter(
            f"unknown status {value!r}; one of {', '.join(s.value for s in EventStatus)}", param_hint="'--status'"
        ) from None


def default_actor(given: str | None) -> str:
    """The audit trail's actor: as given, else ``operator:$USER`` (or the login name)."""
    if given:
        return given
    user = os.environ.get("USER")
    if not user:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "cli"
    return f"operator:{user}"


def _run(fn: Callable[[Runtime], Awaitable[T]]) -> T:
    """:func:`run_with_runtime`, with a refusal (:class:`WebhookError`) exiting 1 with its message."""
    try:
        return run_with_runtime(fn)
    except WebhookError as exc:
        fail(str(exc))


def _filter(status: str | None, type_pattern: str | None, since: str | None, now: datetime) -> EventFilter:
    parsed = parse_status(status)
    return EventFilter(statuses=(parsed,) if parsed else (), type_pattern=type_pattern, since=parse_since(since, now))


@app.command("list")
def list_command(
    status: StatusOption = None,
    type_pattern: TypeOption = None,
    since: SinceOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000, help="At most this many.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List stored events, newest first (never their bodies)."""

    async def main(runtime: Runtime) -> list[dict[str, Any]]:
        event_filter = _filter(status, type_pattern, since, runtime.clock.now())
        async with runtime.db.connect() as conn:
            events = await list_events(conn, event_filter, limit=fetch_limit(limit))
        return [event.to_json() for event in events]

    rows = _run(main)
    for row in rows:
        row["error"] = (row["last_error"] or {}).get("type")
    print_list(rows, limit=limit, as_json=as_json, columns=LIST_COLUMNS, title="webhook events")


@app.command("show")
def show_command(
    event_row_id: Annotated[int, typer.Argument(metavar="ID", help="The event's id in remit (see list).")],
    body: Annotated[bool, typer.Option("--body", help="Include the raw body (may hold customer data).")] = False,
    as_json: JsonOption = False,
) -> None:
    """One event: metadata, handler results, last error and its audit trail (history); the raw body only with
    --body."""

    async def main(runtime: Runtime) -> dict[str, Any] | None:
        async with runtime.db.connect() as conn:
            event = await get_event(conn, event_row_id, with_body=body)
            if event is None:
                return None
            history = await audit_trail(conn, event)
        return {**event.to_json(include_body=body), "history": history}

    found = _run(main)
    if found is None:
        fail(f"no webhook event {event_row_id}")
    print_object(found, as_json)


@app.command("replay")
def replay_command(
    event_row_id: Annotated[int | None, typer.Argument(metavar="[ID]", help="One event to replay.")] = None,
    status: ReplayStatusOption = None,
    type_pattern: TypeOption = None,
    since: SinceOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be replayed; change nothing.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Replay at most this many.")] = None,
    stagger: Annotated[float, typer.Option("--stagger", min=0.0, help="Seconds between replayed jobs.")] = 0.0,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replay one event by ID, or in bulk every event matching --status (default dead), --type, --since."""
    bulk = status is not None or type_pattern is not None or since is not None
    if event_row_id is not None and (bulk or dry_run or limit is not None or stagger):
        fail("give an ID, or filters (--status/--type/--since/--dry-run/--limit/--stagger), not both")
    if event_row_id is None and not bulk:
        fail("give an ID, or at least one of --status, --type, --since for a bulk replay")
    if status is not None and parse_status(status) not in REPLAYABLE:
        fail(f"only {' and '.join(sorted(REPLAYABLE))} events can be replayed")
    who = default_actor(actor)

    async def main(runtime: Runtime) -> dict[str, Any]:
        if event_row_id is not None:
            result = await replay_event(runtime, event_row_id, actor=who)
        else:
            event_filter = _filter(status or EventStatus.DEAD.value, type_pattern, since, runtime.clock.now())
            result = await replay_matching(
                runtime, event_filter, actor=who, dry_run=dry_run, limit=limit, stagger=stagger
            )
        return result.to_json()

    outcome = _run(main)
    if as_json:
        print_object(outcome, True)
        return
    if outcome["dry_run"]:
        typer.echo(f"would replay {outcome['matched']} event(s) (dry run: nothing changed)")
    else:
        typer.echo(
            f"replayed {outcome['replayed']} of {outcome['matched']} event(s)"
            + (f", {outcome['hurried']} pending retr(ies) brought forward" if outcome["hurried"] else "")
        )
    for event_type, count in sorted(outcome["by_type"].items()):
        typer.echo(f"  {event_type}: {count}")


@app.command("prune")
def prune_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be deleted; change nothing.")] = False,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete processed events past REMIT_WEBHOOK_PROCESSED_RETENTION_DAYS and dead ones past
    REMIT_WEBHOOK_DEAD_RETENTION_DAYS."""
    who = default_actor(actor)

    async def main(runtime: Runtime) -> dict[str, Any]:
        return (await prune_events(runtime, dry_run=dry_run, actor=who)).to_json()

    outcome = _run(main)
    if as_json:
        print_object(outcome, True)
        return
    verb = "would delete" if dry_run else "deleted"
    typer.echo(
        f"{verb} {outcome['processed']} processed (before {outcome['processed_before']}) and "
        f"{outcome['dead']} dead (before {outcome['dead_before']}) event(s)"
    )


@app.command("release")
def release_command(as_json: JsonOption = False) -> None:
    """Queue the dispatch of events held while billing was switched off or an emergency stop was in force."""

    async def main(runtime: Runtime) -> dict[str, Any]:
        switches = await runtime.flags.switches(fresh=True)
        if not switches.billing:
            fail(f"billing is switched off; held events stay held until `{command('flags set billing on')}`")
        if switches.stop is not None:
            fail(f"an emergency stop is in force; held events stay held until `{command('start --all')}`")
        return {"released": await release_held(runtime)}

    outcome = _run(main)
    if as_json:
        print_object(outcome, True)
    else:
        typer.echo(f"released {outcome['released']} held event(s)")


__all__ = ["app", "default_actor", "parse_since", "register"]
