"""``remit fake …`` (drive the fake processor) and ``remit demo`` (a scenario against a running service).

The fake's world lives in remit's database, so these commands work on the same world as the running service
(same ``DATABASE_URL``); the events they cause are signed with the configured secret and delivered over HTTP
to ``--url`` (else ``REMIT_URL``, else http://127.0.0.1:8000) plus ``REMIT_WEBHOOK_PATH``.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import httpx
import typer
from rich.console import Console

from remit.cli.output import fail, load_runtime, print_list, run_async
from remit.processor import build_fake_engine, webhook_url
from remit.processor.fake.delivery import HttpDelivery
from remit.processor.fake.engine import Delivered, FakeEngine
from remit.processor.fake.events import DeliveryStatus
from remit.processor.fake.failures import FailureKind
from remit.processor.fake.processor import FakeProcessor
from remit.processor.fake.routes import METHOD_NAMES
from remit.processor.fake.scenario import UNREADABLE_SEATS, DemoReport, run_demo
from remit.processor.fake.triggers import TriggerFailed, run_trigger, trigger_names
from remit.runtime import Runtime
from remit.webhooks.dead_letters import by_processor_event_ids
from remit.webhooks.events import EventStatus

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
#: How long ``remit demo`` waits for the service to dispatch the events it expects to be dead-lettered.
DEAD_LETTER_WAIT_S = 15.0


def register(root: typer.Typer) -> None:
    """Add ``fake`` and ``demo`` to the root ``app``."""
    root.add_typer(app, name="fake")
    root.command("demo")(demo_command)


def parse_duration(text: str) -> int:
    """Seconds from ``3600``, ``90s``, ``15m``, ``12h``, ``30d`` or ``2w`` (pure)."""
    found = _DURATION.match(text.strip().lower())
    if not found:
        raise typer.BadParameter(f"{text!r} is not a duration like 3600, 15m, 12h or 30d")
    return int(found.group(1)) * _UNITS[found.group(2)]


def with_engine(url: str | None, fn: Callable[[FakeEngine, Runtime], Awaitable[T]]) -> T:
    """Run ``fn`` with the fake's engine, delivering to ``url`` (or REMIT_URL)."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per delivery would bury the table

    async def main() -> T:
        runtime = load_runtime()
        try:
            target = webhook_url(runtime.settings, url)
            engine = build_fake_engine(runtime.settings, runtime.db, runtime.clock, delivery=HttpDelivery(target))
            return await fn(engine, runtime)
        finally:
            await runtime.close()

    return run_async(main())


def unknown_trigger_message(event_type: str) -> str:
    """The error for an event type without a trigger: the closest names first, then every valid one (pure), so
    an operator who typed ``invoice.payed`` sees the fix without a second command."""
    names = trigger_names()
    close = difflib.get_close_matches(event_type, names, n=3)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    return f"no trigger for {event_type!r}.{hint} Valid event types: {', '.join(names)}"


def delivery_rows(outcomes: list[Delivered]) -> list[dict[str, Any]]:
    return [{"id": o.event_id, "type": o.event_type, "status_code": o.status_code, "error": o.error} for o in outcomes]


def delivery_failure_message(outcomes: list[Delivered], url: str) -> str | None:
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
    return (
        f"{len(failed)} of {len(outcomes)} deliveries to {url} failed: {'; '.join(reasons)}. "
        "The events are kept: `remit fake deliver` sends them again."
    )


def report_deliveries(outcomes: list[Delivered], url: str, *, as_json: bool, title: str) -> None:
    """Print what was delivered; exit 1 when a delivery failed (the events stay for ``remit fake deliver``)."""
    print_list(delivery_rows(outcomes), as_json=as_json, columns=DELIVERY_COLUMNS, title=title)
    message = delivery_failure_message(outcomes, url)
    if message:
        fail(message)


@app.command("trigger")
def trigger_command(
    event_type: Annotated[str, typer.Argument(metavar="EVENT_TYPE", help="e.g. invoice.paid; see --list.")] = "",
    url: UrlOption = None,
    list_only: Annotated[bool, typer.Option("--list", help="List the event types that can be triggered.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Perform the actions behind EVENT_TYPE (as `stripe trigger` does) and deliver every event they cause."""
    if list_only or not event_type:
        for name in trigger_names():
            typer.echo(name)
        return
    if event_type not in trigger_names():
        fail(unknown_trigger_message(event_type), code=USAGE_EXIT_CODE)

    async def act(engine: FakeEngine, runtime: Runtime) -> tuple[list[Delivered], str]:
        try:
            result = await run_trigger(engine, event_type)
        except TriggerFailed as exc:
            fail(str(exc))
        return result.deliveries, webhook_url(runtime.settings, url)

    outcomes, target = with_engine(url, act)
    report_deliveries(outcomes, target, as_json=as_json, title=f"{event_type}: events delivered to {target}")


@clock_app.command("advance")
def clock_advance_command(
    seconds: Annotated[str, typer.Argument(metavar="SECONDS", help="How far: 3600, 15m, 12h, 30d, 2w.")],
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move the fake's clock forward; renewals, trial ends and retries that come due happen and are delivered."""
    step = parse_duration(seconds)

    async def act(engine: FakeEngine, runtime: Runtime) -> tuple[str, list[Delivered], str]:
        now, events = await engine.advance_clock(step, deliver=False)
        return now.isoformat(), await engine.deliver(events), webhook_url(runtime.settings, url)

    now, outcomes, target = with_engine(url, act)
    if not as_json:
        Console().print(f"fake clock is now [bold]{now}[/bold]", highlight=False)
    report_deliveries(outcomes, target, as_json=as_json, title="events caused by the clock")


@clock_app.command("show")
def clock_show_command() -> None:
    """Print the fake's current time."""

    async def act(engine: FakeEngine, runtime: Runtime) -> str:
        return (await engine.now()).isoformat()

    typer.echo(with_engine(None, act))


@app.command("fail")
def fail_command(
    status: Annotated[str, typer.Option("--status", help="429, 500 or timeout.")],
    count: Annotated[int, typer.Option("--count", min=1, help="How many calls fail.")] = 1,
    method: Annotated[
        str | None, typer.Option("--method", help="Only calls of this method, e.g. invoices.pay (default: any).")
    ] = None,
    retry_after: Annotated[int | None, typer.Option("--retry-after", min=0, help="Retry-After for 429.")] = None,
    hold: Annotated[float | None, typer.Option("--hold", min=0.0, help="Seconds a timeout holds the request.")] = None,
) -> None:
    """Script the next COUNT calls (of METHOD) to answer 429 (with Retry-After), 500, or time out."""
    try:
        kind = FailureKind.parse(status)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
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
        return [event.summary() for event in await engine.events(type_=type_, status=parsed, limit=limit)]

    rows = with_engine(None, act)
    print_list(
        rows,
        as_json=as_json,
        title="fake processor events",
        columns=["id", "type", "created", "delivery_status", "delivery_attempts", "last_status_code"],
    )


@app.command("deliver")
def deliver_command(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Send again every event not yet delivered (e.g. emitted while the service was down)."""

    async def act(engine: FakeEngine, runtime: Runtime) -> tuple[list[Delivered], str]:
        return await engine.redeliver(), webhook_url(runtime.settings, url)

    outcomes, target = with_engine(url, act)
    report_deliveries(outcomes, target, as_json=as_json, title=f"events delivered to {target}")


async def _service_answers(base_url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.get(base_url.rstrip("/") + "/health")
    except httpx.HTTPError:
        return False
    return response.status_code < 500


@dataclass(frozen=True)
class DeadLetterCheck:
    """What became, in the service, of the events the demo expects to be dead-lettered: the rows that are
    ``dead``, and those that ended otherwise (``processed``: the service runs without the sandbox host app)."""

    dead: list[int] = field(default_factory=list)
    not_dead: list[int] = field(default_factory=list)

    @property
    def sandbox_missing(self) -> bool:
        return bool(self.not_dead) and not self.dead


async def check_dead_letters(
    runtime: Runtime, event_ids: Sequence[str], *, timeout: float = DEAD_LETTER_WAIT_S
) -> DeadLetterCheck | None:
    """Wait (up to ``timeout``) until the service has dispatched every one of ``event_ids`` to an end
    (``dead`` or ``processed``); None when it has not by then (a slow worker, or none running)."""
    if not event_ids:
        return None
    ended = {EventStatus.DEAD, EventStatus.PROCESSED}
    deadline = time.monotonic() + timeout
    while True:
        async with runtime.db.connect() as conn:
            events = await by_processor_event_ids(conn, event_ids)
        if len(events) == len(set(event_ids)) and all(e.status in ended for e in events):
            return DeadLetterCheck(
                dead=[e.id for e in events if e.status is EventStatus.DEAD],
                not_dead=[e.id for e in events if e.status is not EventStatus.DEAD],
            )
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(0.25)


def next_steps(
    base_url: str, has_tokens: bool, dead_letters: DeadLetterCheck | None = None, subscription_id: str | None = None
) -> list[str]:
    """Where to look after the demo (pure, so a test can check every command it names exists).

    ``dead_letters`` (what :func:`check_dead_letters` found) turns the generic ``remit webhooks show ID`` into
    the dead letters of this run, with how to fix the seats of ``subscription_id`` and replay them.
    """
    auth = ' -H "Authorization: Bearer $TOKEN"'
    base = base_url.rstrip("/")
    api = base + "/api/v1/billing"
    token_hint = (
        ["# the read API needs a bearer token: TOKEN is one of REMIT_SERVICE_TOKENS"]
        if has_tokens
        else [
            "# the read API needs a bearer token: start the service with REMIT_SERVICE_TOKENS=<token>,",
            "# then TOKEN=<token> for the calls below",
        ]
    )
    if dead_letters is not None and dead_letters.dead:
        shows = [
            f"{f'remit webhooks show {row_id}':<41}# a dead letter of this run: which handler, and why"
            for row_id in dead_letters.dead
        ]
        sub = subscription_id or "SUB_ID"
        fix = [
            "# fix the seats at the (fake) processor, then replay: the seat grant reads them anew",
            f"curl -X POST {base}/fake/v1/subscriptions/{sub} -H 'Authorization: Bearer sk_test_demo' "
            "-d 'metadata[seats]=12'",
            "remit webhooks replay --status dead      # runs only the handlers that had not worked, once",
        ]
    else:
        shows = ["remit webhooks show ID                   # one event: handler results and its last error"]
        fix = []
        if dead_letters is not None and dead_letters.sandbox_missing:
            fix = [
                "# the seats subscription was processed, not dead-lettered: this service runs without the",
                "# sandbox host app (remit up loads it on the fake processor when REMIT_JOB_MODULES is empty)",
            ]
    return [
        "remit webhooks list                      # every event the service received",
        "remit webhooks list --status dead        # the dead-letter queue",
        *shows,
        *fix,
        "remit fake events                        # what the fake processor sent, and how delivery went",
        "remit fake clock advance 30d             # a month later: renewals, retries, cancellations",
        *token_hint,
        f"curl{auth} {api}/customers",
        f"curl{auth} {api}/subscriptions",
        f"curl{auth} {api}/invoices",
        f"curl{auth} {api}/charges",
        f"curl{auth} '{api}/webhook-events?status=processed'",
    ]


def demo_command(url: UrlOption = None) -> None:
    """Drive a scenario through the fake processor against the running service: sign-ups, subscriptions,
    payments, a declined card that later succeeds, an upgrade, a refund, a dispute, and seats metadata the
    sandbox host app cannot read (a dead letter)."""

    async def act(engine: FakeEngine, runtime: Runtime) -> tuple[DemoReport, str, bool, DeadLetterCheck | None]:
        base = url or runtime.settings.url
        if runtime.settings.processor != "fake":
            fail("remit demo runs on the fake processor (REMIT_PROCESSOR=fake)")
        if not await _service_answers(base):
            fail(f"nothing answers at {base}; start the service first with `remit up` (or pass --url)")
        report = await run_demo(FakeProcessor(engine))
        dead_letters = await check_dead_letters(runtime, report.dead_letter_event_ids)
        return report, base, bool(runtime.settings.service_tokens), dead_letters

    report, base, has_tokens, dead_letters = with_engine(url, act)
    console = Console()
    console.print(f"[bold]remit demo[/bold] (run {report.run_id}) against {base}", highlight=False)
    for step in report.steps:
        console.print(f"  • {step.what}: {', '.join(step.ids)}", highlight=False, markup=False)
    delivered = len(report.deliveries) - len(report.failed_deliveries)
    console.print(f"{len(report.deliveries)} webhooks sent, {delivered} accepted", highlight=False)
    console.print("[bold]where to look next[/bold]")
    seats_step = next((step for step in report.steps if repr(UNREADABLE_SEATS) in step.what), None)
    subscription_id = seats_step.ids[-1] if seats_step and seats_step.ids else None
    for line in next_steps(base, has_tokens, dead_letters, subscription_id):
        console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)  # `metadata[seats]` is no tag
    if report.failed_deliveries:
        fail(f"{len(report.failed_deliveries)} webhooks were not accepted; see `remit fake events --status failed`")


__all__ = [
    "DeadLetterCheck",
    "app",
    "check_dead_letters",
    "delivery_failure_message",
    "demo_command",
    "next_steps",
    "parse_duration",
    "register",
    "unknown_trigger_message",
    "with_engine",
]
