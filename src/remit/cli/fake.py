"""``remit fake …``: drive the fake processor (trigger events, move its clock, script failures, list events).

The fake's world lives in remit's database, so these commands work on the same world as the running service
only with the same ``DATABASE_URL``; the events they cause are signed with the configured secret and delivered
over HTTP to ``--url`` (else ``REMIT_URL``, else http://127.0.0.1:8000) plus ``REMIT_WEBHOOK_PATH``. After
delivering they check that the service stored the events in *this* database (:func:`world_mismatch_message`):
a service that answers 200 from another database (another working directory's ``./remit.db``) would
otherwise look like success while it sees none of this world. Like every command on the database they go
through :func:`remit.cli.output.run_with_runtime`: a database that is down is one line and exit 3.
"""

from __future__ import annotations

import difflib
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from remit.billing.actions import BillingActionError, create_checkout_session
from remit.cli.hints import command
from remit.cli.output import dumps, fail, fetch_limit, print_list, run_with_runtime
from remit.db.location import describe
from remit.errors import ProcessorError
from remit.processor import build_fake_engine, webhook_url
from remit.processor.fake.delivery import Delivery, DeliveryResult, HttpDelivery, SignedEvent
from remit.processor.fake.engine import Delivered, FakeEngine
from remit.processor.fake.events import DeliveryStatus
from remit.processor.fake.failures import FailureKind
from remit.processor.fake.processor import FakeProcessor
from remit.processor.fake.triggers import StepOverride, TriggerFailed, run_trigger, trigger_names
from remit.runtime import Runtime
from remit.webhooks.dead_letters import by_processor_event_ids

T = TypeVar("T")

app = typer.Typer(
    help="The fake processor: trigger events, move its clock, script failures, list its events.", no_args_is_help=True
)
clock_app = typer.Typer(help="The fake processor's clock.", no_args_is_help=True)
app.add_typer(clock_app, name="clock")

UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="The running remit to deliver to (default: REMIT_URL, else http://127.0.0.1:8000)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

_DURATION = re.compile(r"^(\d+)\s*([smhdw]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DELIVERY_COLUMNS = ["id", "type", "status_code", "error"]
#: Exit code for a command line naming something that does not exist (as Click exits on a usage error).
USAGE_EXIT_CODE = 2


def register(root: typer.Typer) -> None:
    """Add ``fake`` to the root ``app``."""
    root.add_typer(app, name="fake")


def parse_duration(text: str) -> int:
    """Seconds from ``3600``, ``90s``, ``15m``, ``12h``, ``30d`` or ``2w`` (pure)."""
    found = _DURATION.match(text.strip().lower())
    if not found:
        raise typer.BadParameter(f"{text!r} is not a duration like 3600, 15m, 12h or 30d")
    return int(found.group(1)) * _UNITS[found.group(2)]


def with_engine(url: str | None, fn: Callable[[FakeEngine, Runtime], Awaitable[T]]) -> T:
    """Run ``fn`` with the fake's engine, delivering to ``url`` (or REMIT_URL), through
    :func:`~remit.cli.output.run_with_runtime` (a database outage is one line and exit 3)."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per delivery would bury the table

    async def main(runtime: Runtime) -> T:
        target = webhook_url(runtime.settings, url)
        engine = build_fake_engine(runtime.settings, runtime.db, runtime.clock, delivery=HttpDelivery(target))
        return await fn(engine, runtime)

    return run_with_runtime(main)


def url_option(url: str | None) -> list[str]:
    """``--url URL`` for a printed command when this one was given one (so the hint delivers there too)."""
    return ["--url", url] if url else []


def unknown_trigger_message(event_type: str) -> str:
    """The error for an event type without a trigger: the closest names first, then every valid one (pure), so
    an operator who typed ``invoice.payed`` sees the fix without a second command."""
    names = trigger_names()
    close = difflib.get_close_matches(event_type, names, n=3)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    return f"no trigger for {event_type!r}.{hint} Valid event types: {', '.join(names)}"


def delivery_rows(outcomes: list[Delivered]) -> list[dict[str, Any]]:
    return [{"id": o.event_id, "type": o.event_type, "status_code": o.status_code, "error": o.error} for o in outcomes]


async def stored_here(runtime: Runtime, outcomes: Sequence[Delivered]) -> set[str]:
    """The ids of the accepted ``outcomes`` that the service stored in this command's database."""
    accepted = [o.event_id for o in outcomes if o.ok]
    async with runtime.db.connect() as conn:
        return {event.event_id for event in await by_processor_event_ids(conn, accepted)}


def world_mismatch_message(outcomes: Sequence[Delivered], stored: set[str], url: str, database: str) -> str | None:
    """Why a service that accepted ``outcomes`` is not working on this fake world (pure): it stored accepted
    events somewhere other than this command's ``database`` (``stored`` holds those found there), perhaps
    calling them duplicates of events it already had. None when every accepted event is here."""
    accepted = [o for o in outcomes if o.ok]
    missing = [o for o in accepted if o.event_id not in stored]
    if not missing:
        return None
    duplicates = sum(1 for o in missing if o.duplicate)
    said = f"; it called {duplicates} of them duplicates of events it already had" if duplicates else ""
    return (
        f"{url} accepted {len(accepted)} event(s), but {len(missing)} of them are not in this command's database "
        f"({database}){said}. The service keeps its events in another database and does not see this fake "
        "world: run this command with the service's DATABASE_URL (the default ./remit.db is relative to the "
        "directory each runs in)."
    )


def all_duplicates_message(outcomes: Sequence[Delivered], url: str) -> str | None:
    """Why new events that a service accepted changed nothing (pure): it called every one a duplicate, so its
    database already held events with these ids — another fake world's, delivered there by a command run with
    another ``DATABASE_URL`` — and the ids found there are not this world's events. None otherwise."""
    accepted = [o for o in outcomes if o.ok]
    if not accepted or not all(o.duplicate for o in accepted):
        return None
    return (
        f"{url} called all {len(accepted)} new event(s) duplicates of events it already had, so it stored none of "
        "them: its database holds events with these ids from another fake world (a command run with another "
        "DATABASE_URL delivered there). Run fake commands with the service's DATABASE_URL from the start, or "
        "start over on a fresh database."
    )


def delivery_failure_message(outcomes: list[Delivered], url: str, redeliver: str | None = None) -> str | None:
    """Why deliveries failed, told apart (pure): nothing answered (is remit serving there?), or remit answered
    and refused (a signature refusal means this command and the service sign with different secrets)."""
    failed = [o for o in outcomes if not o.ok]
    if not failed:
        return None
    unanswered = [o for o in failed if o.status_code is None]
    refused = sorted(
        {f"{o.status_code} {o.error}" if o.error else str(o.status_code) for o in failed if o.status_code is not None}
    )
    reasons = []
    if unanswered:
        reasons.append(f"{len(unanswered)} got no answer (is remit serving there?)")
    if refused:
        reasons.append(f"{len(failed) - len(unanswered)} were refused ({', '.join(refused)})")
    if any(o.error and o.error.startswith("signature_") for o in failed):
        reasons.append("STRIPE_WEBHOOK_SECRET must be the same for this command and the service")
    again = redeliver or command("fake deliver")
    return (
        f"{len(failed)} of {len(outcomes)} deliveries to {url} failed: {'; '.join(reasons)}. "
        f"The events are kept: `{again}` sends them again."
    )


async def delivered_to(
    runtime: Runtime, outcomes: list[Delivered], url: str | None
) -> tuple[list[Delivered], str, str | None]:
    """``outcomes``, where they went, and why that is not this world (see :func:`world_mismatch_message`)."""
    target = webhook_url(runtime.settings, url)
    stored = await stored_here(runtime, outcomes)
    mismatch = world_mismatch_message(outcomes, stored, target, describe(runtime.settings.database_url))
    return outcomes, target, mismatch


def report_deliveries(
    delivered: tuple[list[Delivered], str, str | None],
    url: str | None,
    *,
    as_json: bool,
    title: str,
    new_events: bool = True,
) -> None:
    """Print what was delivered; exit 1 when a delivery failed (the events stay for ``remit fake deliver``),
    when the service that accepted them works on another database, or when it called every one of these
    ``new_events`` a duplicate (a redelivery may rightly be one: ``new_events=False``)."""
    outcomes, target, mismatch = delivered
    print_list(delivery_rows(outcomes), as_json=as_json, columns=DELIVERY_COLUMNS, title=title.format(url=target))
    message = delivery_failure_message(outcomes, target, command("fake deliver", *url_option(url)))
    if message:
        fail(message)
    if mismatch:
        fail(mismatch)
    duplicates = all_duplicates_message(outcomes, target) if new_events else None
    if duplicates:
        fail(duplicates)


#: Triggers whose checkout session remit's own checkout action makes (for a new demo account on the demo
#: package :data:`TRIGGER_PACKAGE`), so the paid session ends in the provisioning hand-off.
REMIT_CHECKOUTS = frozenset({"checkout.session.completed"})
TRIGGER_PACKAGE = "starter"


@dataclass
class RecordingDelivery:
    """Deliver through ``inner`` and keep each outcome (the checkout action's own calls deliver as they go)."""

    inner: Delivery | None
    outcomes: list[Delivered] = field(default_factory=list)

    async def __call__(self, event: SignedEvent) -> DeliveryResult:
        assert self.inner is not None
        result = await self.inner(event)
        self.outcomes.append(
            Delivered(event.event_id, event.event_type, result.status_code, result.error, result.duplicate)
        )
        return result


def checkout_overrides(runtime: Runtime, engine: FakeEngine) -> dict[str, StepOverride]:
    """The trigger's ``checkout_session`` step made by :func:`remit.billing.create_checkout_session` for a new
    account on :data:`TRIGGER_PACKAGE`, through the trigger's fake (``runtime``'s processor from now on)."""
    runtime.processor = FakeProcessor(engine)

    async def checkout(_results: dict[str, Any]) -> dict[str, Any]:
        run = uuid.uuid4().hex[:12]
        session = await create_checkout_session(
            runtime,
            account_id=f"acct_demo_{run}",
            package=TRIGGER_PACKAGE,
            idempotency_key=f"trigger-{run}-checkout",
            success_url="https://example.com/success",
            cancel_url="https://example.com/cancel",
        )
        return session.to_json()

    return {"checkout_session": checkout}


@app.command("trigger")
def trigger_command(
    event_type: Annotated[str, typer.Argument(metavar="EVENT_TYPE", help="e.g. invoice.paid; see --list.")] = "",
    url: UrlOption = None,
    list_only: Annotated[bool, typer.Option("--list", help="List the event types that can be triggered.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Perform the actions behind EVENT_TYPE (as `stripe trigger` does) and deliver every event they cause."""
    if list_only or not event_type:
        if as_json:
            typer.echo(dumps(trigger_names()))
            return
        for name in trigger_names():
            typer.echo(name)
        return
    if event_type not in trigger_names():
        fail(unknown_trigger_message(event_type), code=USAGE_EXIT_CODE)

    async def act(engine: FakeEngine, runtime: Runtime) -> tuple[list[Delivered], str, str | None]:
        recorded = RecordingDelivery(engine.delivery)
        engine.delivery = recorded  # the checkout action's calls deliver as they go, the recipe's at its end
        overrides = checkout_overrides(runtime, engine) if event_type in REMIT_CHECKOUTS else None
        try:
            await run_trigger(engine, event_type, overrides=overrides)
        except TriggerFailed as exc:
            fail(str(exc))
        except BillingActionError as exc:
            fail(f"remit's checkout action refused: {exc}")
        except ProcessorError as exc:  # its message names the method, status and code only
            fail(f"remit's checkout action could not reach an answer from the processor: {exc}")
        return await delivered_to(runtime, recorded.outcomes, url)

    report_deliveries(with_engine(url, act), url, as_json=as_json, title=f"{event_type}: events delivered to {{url}}")


@clock_app.command("advance")
def clock_advance_command(
    seconds: Annotated[str, typer.Argument(metavar="SECONDS", help="How far: 3600, 15m, 12h, 30d, 2w.")],
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move the fake's clock forward; renewals, trial ends and retries that come due happen and are delivered."""
    step = parse_duration(seconds)

    async def act(engine: FakeEngine, runtime: Runtime) -> tuple[str, tuple[list[Delivered], str, str | None]]:
        now, events = await engine.advance_clock(step, deliver=False)
        return now.isoformat(), await delivered_to(runtime, await engine.deliver(events), url)

    now, delivered = with_engine(url, act)
    if not as_json:
        Console().print(f"fake clock is now [bold]{now}[/bold]", highlight=False)
    report_deliveries(delivered, url, as_json=as_json, title="events caused by the clock")


@clock_app.command("show")
def clock_show_command() -> None:
    """Print the fake's current time."""

    async def act(engine: FakeEngine, runtime: Runtime) -> str:
        return (await engine.now()).isoformat()

    typer.echo(with_engine(None, act))


@app.command("fail")
def fail_command(
    status: Annotated[str, typer.Option("--status", help="429, 500, 401 or timeout.")],
    count: Annotated[int, typer.Option("--count", min=1, help="How many calls fail.")] = 1,
    method: Annotated[
        str | None, typer.Option("--method", help="Only calls of this method, e.g. invoices.pay (default: any).")
    ] = None,
    retry_after: Annotated[int | None, typer.Option("--retry-after", min=0, help="Retry-After for 429.")] = None,
    hold: Annotated[float | None, typer.Option("--hold", min=0.0, help="Seconds a timeout holds the request.")] = None,
) -> None:
    """Script the next COUNT calls (of METHOD) to answer 429 (with Retry-After), 500, 401 (an expired key), or
    time out."""
    try:
        kind = FailureKind.parse(status)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    from remit.processor.fake.routes import METHOD_NAMES  # every operation's module: this command's alone

    if method is not None and method not in METHOD_NAMES:
        raise typer.BadParameter(f"unknown method {method!r}; e.g. {', '.join(sorted(METHOD_NAMES)[:6])}, …")

    async def act(engine: FakeEngine, runtime: Runtime) -> None:
        await engine.fail_next(kind, count=count, method=method, retry_after=retry_after, hold_seconds=hold)

    with_engine(None, act)
    typer.echo(f"the next {count} call(s) of {method or 'any method'} will answer {kind.value}")


@app.command("failures")
def failures_command(
    clear: Annotated[bool, typer.Option("--clear", help="Remove every scripted failure.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List (or clear) the scripted failures still to come."""

    async def act(engine: FakeEngine, runtime: Runtime) -> list[dict[str, Any]]:
        if clear:
            await engine.clear_failures()
        return [
            {
                "id": f.id,
                "method": f.method,
                "status": f.kind.value,
                "remaining": f.remaining,
                "retry_after": f.retry_after,
                "hold_seconds": f.hold_seconds,
            }
            for f in await engine.scripted_failures()
        ]

    rows = with_engine(None, act)
    print_list(
        rows, as_json=as_json, columns=["id", "method", "status", "remaining", "retry_after"], title="scripted failures"
    )


@app.command("events")
def events_command(
    as_json: JsonOption = False,
    type_: Annotated[str | None, typer.Option("--type", help="Only this event type.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="pending, delivered or failed.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest first.")] = 50,
) -> None:
    """The events the fake emitted, newest first, with how their delivery went."""
    try:
        parsed = DeliveryStatus(status) if status else None
    except ValueError:
        raise typer.BadParameter("status is pending, delivered or failed") from None

    async def act(engine: FakeEngine, runtime: Runtime) -> list[dict[str, Any]]:
        return [event.summary() for event in await engine.events(type_=type_, status=parsed, limit=fetch_limit(limit))]

    rows = with_engine(None, act)
    print_list(
        rows,
        limit=limit,
        as_json=as_json,
        title="fake processor events",
        columns=["id", "type", "created", "delivery_status", "delivery_attempts", "last_status_code"],
    )


@app.command("deliver")
def deliver_command(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Send again every event not yet delivered (e.g. emitted while the service was down)."""

    async def act(engine: FakeEngine, runtime: Runtime) -> tuple[list[Delivered], str, str | None]:
        return await delivered_to(runtime, await engine.redeliver(), url)

    report_deliveries(with_engine(url, act), url, as_json=as_json, title="events delivered to {url}", new_events=False)


__all__ = [
    "all_duplicates_message",
    "app",
    "delivery_failure_message",
    "parse_duration",
    "register",
    "stored_here",
    "unknown_trigger_message",
    "url_option",
    "with_engine",
    "world_mismatch_message",
]
