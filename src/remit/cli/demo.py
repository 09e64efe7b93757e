"""``remit demo``: the sandbox scenario (:mod:`remit.sandbox.scenario`) against the running ``remit up``, and
where to look next.

The command is a newcomer's first contact, so everything it prints must hold: it refuses to report success
when the service that accepted its webhooks stores them in another database (another directory's
``./remit.db``), it delivers first what an interrupted run left undelivered, a Ctrl-C names the command that
delivers the rest, and every line under "where to look next" runs as printed (:func:`next_steps`): the
``remit`` command as this shell reaches it (:mod:`remit.cli.hints`), ``--url`` when the demo was given one,
the clock moved by the calendar month the subscriptions actually renew after, and a read-API token that
comes from the environment rather than from the screen.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import httpx
import typer
from rich.console import Console

from remit.cli.fake import UrlOption, delivered_to, delivery_failure_message, url_option, with_engine
from remit.cli.hints import command
from remit.cli.output import fail
from remit.db.location import describe
from remit.mail.kinds import MailKind, mail_key
from remit.mail.log import FINISHED, MailState, get_mail_by_key
from remit.money.dunning import get_case
from remit.money.reconcile import reconcile_fees
from remit.processor import build_fake_engine, webhook_url
from remit.processor.fake.clock import unix
from remit.processor.fake.delivery import Delivery, DeliveryResult, HttpDelivery, SignedEvent
from remit.processor.fake.engine import Delivered, FakeEngine
from remit.processor.fake.processor import FakeProcessor
from remit.runtime import Runtime
from remit.sandbox.scenario import UNREADABLE_SEATS, DemoReport, run_demo
from remit.webhooks.dead_letters import by_processor_event_ids
from remit.webhooks.events import EventStatus

#: How long ``remit demo`` waits for the service to dispatch the events it expects to be dead-lettered.
DEAD_LETTER_WAIT_S = 15.0
#: How long ``remit demo`` waits for the service to mail the story's receipt (the PDF is rendered first).
RECEIPT_WAIT_S = 20.0
#: How long ``remit demo`` waits for the service to open the story's dunning case (its past-due webhook).
DUNNING_WAIT_S = 10.0
#: The exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED_EXIT_CODE = 130
DAY_S = 86_400


def register(root: typer.Typer) -> None:
    """Add ``demo`` to the root ``app``."""
    root.command("demo")(demo_command)


async def service_answers(base_url: str) -> bool:
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


@dataclass(frozen=True)
class ReceiptFound:
    """The story's receipt as the service's mail log has it: its mail id, invoice, state, and whether the
    development outbox holds the message (no ``REMIT_SMTP_URL``), so ``--eml`` can write it out."""

    mail_id: int
    invoice_id: str
    state: str
    in_outbox: bool


async def find_receipt(
    runtime: Runtime, invoice_id: str | None, *, timeout: float = RECEIPT_WAIT_S
) -> ReceiptFound | None:
    """Wait (up to ``timeout``) until the service has finished the receipt of ``invoice_id`` (sent, failed
    or skipped); None when it has not by then (a slow worker, or none running)."""
    if invoice_id is None:
        return None
    key = mail_key(MailKind.RECEIPT, invoice_id)
    deadline = time.monotonic() + timeout
    while True:
        async with runtime.db.connect() as conn:
            record = await get_mail_by_key(conn, key)
        if record is not None and record.state in FINISHED:
            in_outbox = record.state is MailState.SENT and record.transport == "outbox"
            return ReceiptFound(record.id, invoice_id, record.state.value, in_outbox)
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(0.25)


def receipt_steps(receipt: ReceiptFound | None, api: str, auth: str) -> list[str]:
    """The lines about the story's receipt and its invoice PDF (pure)."""
    if receipt is None:
        return [_aligned(command("mail list"), "the mail the service sent (receipts, a declined card, a dispute…)")]
    lines = [
        _aligned(command("mail list"), "the mail the service sent: receipts, a declined card, a dispute…"),
        _aligned(command("mail show", str(receipt.mail_id)), f"this run's receipt ({receipt.state}): its parts"),
    ]
    if receipt.in_outbox:
        lines.append(
            _aligned(
                command("mail show", str(receipt.mail_id), "--eml", "receipt.eml"),
                "the whole message with its PDF, for a mail client",
            )
        )
    lines += [
        _aligned(command("invoices pdf", receipt.invoice_id, "-o", "invoice.pdf"), "the invoice as a PDF"),
        f"curl{auth} {api}/invoices/{receipt.invoice_id}/pdf -o invoice.pdf",
    ]
    return lines


@dataclass(frozen=True)
class MoneyFound:
    """The money part's side of the story: the dunning case of the declined renewal (its state and grace end)
    and what the demo's fee pass recorded."""

    dunning_subscription_id: str | None = None
    dunning_state: str | None = None
    grace_until: str | None = None
    fees_recorded: int = 0
    fees_unchanged: int = 0


async def find_dunning_case(
    runtime: Runtime, subscription_id: str | None, *, timeout: float = DUNNING_WAIT_S
) -> tuple[str, str] | None:
    """Wait (up to ``timeout``) for the service to open the dunning case of ``subscription_id``: its state and
    grace end, or None."""
    if subscription_id is None:
        return None
    deadline = time.monotonic() + timeout
    while True:
        async with runtime.db.connect() as conn:
            case = await get_case(conn, subscription_id)
        if case is not None:
            return case.state.value, case.grace_until.date().isoformat()
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(0.25)


async def demo_money(runtime: Runtime, engine: FakeEngine, subscription_id: str | None) -> MoneyFound:
    """Open the money part's side of the story: wait for the dunning case, then run one fee pass up to the
    fake's now (its charges settle at once) in a single slice — a call or two over the demo's few charges."""
    case = await find_dunning_case(runtime, subscription_id)
    done = await reconcile_fees(runtime, until=await engine.now(), concurrency=1)
    return MoneyFound(
        subscription_id if case else None,
        case[0] if case else None,
        case[1] if case else None,
        done.recorded,
        done.unchanged,
    )


def operator_steps(
    base: str, auth: str, *, run_id: str | None, checkout: tuple[str, str] | None, meter: str | None
) -> list[str]:
    """The lines about provisioning, usage and the admin page (pure): the story's paid checkout and its
    hand-off, one usage event for its customer through the API and the usage log, and where the page is.
    ``checkout`` is ``(session id, customer id)``; ``meter`` a declared meter (none: no usage lines)."""
    lines: list[str] = []
    if checkout is not None:
        session_id, customer_id = checkout
        lines.append(_aligned(command("provisioning show", session_id), "the paid checkout's hand-off to provisioning"))
        if meter is not None:
            operation = f"usage-{run_id or 'demo'}-1"
            event = json.dumps({"customer": customer_id, "meter": meter, "value": 3, "operation_id": operation})
            lines += [
                f"curl{auth} -H 'Content-Type: application/json' -d '{event}' {base}/api/v1/usage",
                _aligned(command("usage list --customer", customer_id), "that usage, and whether the processor has it"),
            ]
    lines.append(_aligned(command("provisioning list"), "every paid checkout's hand-off, and the stuck ones"))
    lines.append(f"# the admin page, in a browser: {base}/admin (turn it on: {command('admin hash-password')},")
    lines.append("# then REMIT_ADMIN_PASSWORD_HASH, see docs/admin.md)")
    return lines


def money_steps(money: MoneyFound | None) -> list[str]:
    """The lines about the dunning case and the recorded fees (pure)."""
    lines = [_aligned(command("dunning list"), "who is past due, in grace, and until when")]
    if money is not None and (money.fees_recorded or money.fees_unchanged):
        lines.append(
            _aligned(
                command("reconcile fees --include-recent --dry-run"),
                "the fees are recorded: a pass now finds them unchanged",
            )
        )
    return lines


#: Any test-mode key opens the fake's HTTP face; the demo reads the service's newest fake event with it.
FAKE_KEY = "sk_test_demo"


async def service_newest_fake_event(base_url: str) -> str | None:
    """The id of the newest event in the service's fake world (its ``/fake/v1/events``), if it has one."""
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.get(
                base_url.rstrip("/") + "/fake/v1/events",
                params={"limit": 1},
                headers={"Authorization": f"Bearer {FAKE_KEY}"},
            )
        data = response.json().get("data") if response.is_success else None
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return str(data[0]["id"]) if isinstance(data, list) and data and isinstance(data[0], dict) else None


def other_world_message(base_url: str, theirs: str | None, ours: str | None, database: str) -> str | None:
    """Why the service at ``base_url`` is not on this command's fake world, told before anything is sent
    (pure): the newest events of the two worlds differ. None when they agree or either world is empty (the
    check after delivering still catches that case)."""
    if theirs is None or ours is None or theirs == ours:
        return None
    return (
        f"the service at {base_url} works on another fake world than this command's database ({database}): its "
        f"newest fake event is {theirs}, this one's is {ours}. Run this command with the service's DATABASE_URL "
        "(the default ./remit.db is relative to the directory each runs in); nothing was sent."
    )


def days_until(moment: int | None, now: int) -> int:
    """Whole days from ``now`` until ``moment`` (unix seconds), rounded up, at least one (pure)."""
    if moment is None:
        return 31
    return max(1, math.ceil((moment - now) / DAY_S))


def _aligned(cmd: str, comment: str) -> str:
    return f"{cmd:<48} # {comment}"


def next_steps(
    base_url: str,
    has_tokens: bool,
    dead_letters: DeadLetterCheck | None = None,
    subscription_id: str | None = None,
    *,
    url: str | None = None,
    renewal_days: int = 31,
    example_id: int | None = None,
    receipt: ReceiptFound | None = None,
    money: MoneyFound | None = None,
    run_id: str | None = None,
    checkout: tuple[str, str] | None = None,
    meter: str | None = None,
) -> list[str]:
    """Where to look after the demo (pure, so a test can run every command it names).

    ``dead_letters`` (what :func:`check_dead_letters` found) turns the generic ``remit webhooks show ID`` into
    the dead letters of this run, with how to fix the seats of ``subscription_id`` and replay them. ``url``
    (the demo's ``--url``) goes on the fake commands that deliver, so they deliver to the same service;
    ``renewal_days`` is how far the clock must move for the story's subscriptions to renew; ``example_id``
    (a stored event of this run) makes ``remit webhooks show`` a command that runs as printed; ``receipt``
    (what :func:`find_receipt` found) points at this run's receipt mail and its invoice PDF; ``money`` (what
    :func:`demo_money` found) at the dunning cases and the recorded fees; ``checkout`` (the story's paid
    checkout and its customer) and ``meter`` at provisioning and usage (:func:`operator_steps`).
    """
    auth = ' -H "Authorization: Bearer $TOKEN"'
    base = base_url.rstrip("/")
    api = base + "/api/v1/billing"
    token_hint = (
        [_aligned('export TOKEN="${REMIT_SERVICE_TOKENS%%,*}"', "the read API's bearer token: your first one")]
        if has_tokens
        else [
            "# the read API needs a bearer token: ./scripts/run printed one (export TOKEN=...); with remit up",
            "# alone, start it with REMIT_SERVICE_TOKENS=<token> and export TOKEN=<token> here",
        ]
    )
    if dead_letters is not None and dead_letters.dead:
        shows = [
            _aligned(command("webhooks show", str(row_id)), "a dead letter of this run: which handler, and why")
            for row_id in dead_letters.dead
        ]
        sub = subscription_id or "SUB_ID"
        fix = [
            "# fix the seats at the (fake) processor, then replay: the seat grant reads them anew",
            f"curl -X POST {base}/fake/v1/subscriptions/{sub} -H 'Authorization: Bearer {FAKE_KEY}' "
            "-d 'metadata[seats]=12'",
            _aligned(command("webhooks replay --status dead"), "runs only the handlers that had not worked, once"),
        ]
    else:
        show = command("webhooks show", str(example_id)) if example_id is not None else command("webhooks show ID")
        shows = [_aligned(show, "one event: handler results and its last error")]
        fix = []
        if dead_letters is not None and dead_letters.sandbox_missing:
            fix = [
                "# the seats subscription was processed, not dead-lettered: this service runs without the",
                "# sandbox host app (remit up loads it on the fake processor when REMIT_JOB_MODULES is empty)",
            ]
    return [
        _aligned(command("webhooks list"), "every event the service received"),
        _aligned(command("webhooks list --status dead"), "the dead-letter queue"),
        *shows,
        *fix,
        _aligned(command("fake events"), "what the fake processor sent, and how delivery went"),
        _aligned(
            command("fake clock advance", f"{renewal_days}d", *url_option(url)),
            "a month later: the subscriptions renew",
        ),
        *token_hint,
        *receipt_steps(receipt, api, auth),
        *money_steps(money),
        *operator_steps(base, auth, run_id=run_id, checkout=checkout, meter=meter),
        f"curl{auth} {api}/customers",
        f"curl{auth} {api}/subscriptions",
        f"curl{auth} {api}/invoices",
        f"curl{auth} {api}/charges",
        f"curl{auth} '{api}/webhook-events?status=processed'",
    ]


class DuplicateRecorder:
    """A delivery that passes events on and remembers which ones the receiver called duplicates (the
    scenario's report is rebuilt from the fake's stored events, which keep the status code only)."""

    def __init__(self, inner: Delivery) -> None:
        self.inner = inner
        self.duplicates: set[str] = set()

    async def __call__(self, event: SignedEvent) -> DeliveryResult:
        result = await self.inner(event)
        if result.duplicate:
            self.duplicates.add(event.event_id)
        return result

    def mark(self, outcomes: Sequence[Delivered]) -> list[Delivered]:
        return [replace(o, duplicate=o.duplicate or o.event_id in self.duplicates) for o in outcomes]


@dataclass
class DemoRun:
    """What the command found: the scenario's report, where it ran, and what it checked afterwards."""

    report: DemoReport
    base_url: str
    has_tokens: bool
    leftovers: list[Delivered]
    dead_letters: DeadLetterCheck | None
    renewal_days: int
    example_id: int | None = None
    receipt: ReceiptFound | None = None
    money: MoneyFound | None = None
    #: A declared meter (REMIT_METERS), for the usage lines; None when there is none.
    meter: str | None = None


def demo_command(url: UrlOption = None) -> None:
    """Drive a scenario through the fake processor against the running service: sign-ups, subscriptions,
    payments, a declined card that later succeeds, an upgrade, a refund, a dispute, and seats metadata the
    sandbox host app cannot read (a dead letter)."""

    async def act(_engine: FakeEngine, runtime: Runtime) -> DemoRun:
        base = url or runtime.settings.url
        if runtime.settings.processor != "fake":
            fail("remit demo runs on the fake processor (REMIT_PROCESSOR=fake)")
        await runtime.db.ping()  # a database that is down is exit 3, whatever the service does
        if not await service_answers(base):
            fail(f"nothing answers at {base}; start the service first with `{command('up')}` (or pass --url)")
        recorder = DuplicateRecorder(HttpDelivery(webhook_url(runtime.settings, url)))
        engine = build_fake_engine(runtime.settings, runtime.db, runtime.clock, delivery=recorder)
        ours = await engine.events(limit=1)
        elsewhere = other_world_message(
            base, await service_newest_fake_event(base), ours[0].id if ours else None, describe(runtime.db.url)
        )
        if elsewhere:
            fail(elsewhere)
        leftovers = await engine.redeliver()  # what an interrupted run (or a service that was down) left
        report = await run_demo(FakeProcessor(engine), runtime)
        outcomes = recorder.mark([*leftovers, *report.deliveries])
        outcomes, target, mismatch = await delivered_to(runtime, outcomes, url)
        if mismatch:
            fail(mismatch)
        failed = delivery_failure_message(outcomes, target, command("fake deliver", *url_option(url)))
        if failed:
            fail(failed)
        dead_letters = await check_dead_letters(runtime, report.dead_letter_event_ids)
        days = days_until(report.renews_at, unix(await engine.now()))
        async with runtime.db.connect() as conn:
            last = await by_processor_event_ids(conn, [outcomes[-1].event_id]) if outcomes else []
        example = last[0].id if last else None
        receipt = await find_receipt(runtime, report.receipt_invoice_id)
        money = await demo_money(runtime, engine, report.dunning_subscription_id)
        meter = next(iter(runtime.settings.meters), None)
        return DemoRun(
            report,
            base,
            bool(runtime.settings.service_tokens),
            leftovers,
            dead_letters,
            days,
            example,
            receipt,
            money,
            meter,
        )

    try:
        run = with_engine(url, act)
    except KeyboardInterrupt:
        fail(
            "interrupted: the events the demo caused but did not deliver are kept by the fake processor; "
            f"`{command('fake deliver', *url_option(url))}` sends them (the next remit demo does too)",
            code=INTERRUPTED_EXIT_CODE,
        )
    print_run(run, url)


def print_run(run: DemoRun, url: str | None) -> None:
    report = run.report
    console = Console(soft_wrap=True)  # a wrapped command line would not run when copied
    console.print(f"[bold]remit demo[/bold] (run {report.run_id}) against {run.base_url}", highlight=False)
    if run.leftovers:
        console.print(f"  • delivered {len(run.leftovers)} event(s) an earlier run left undelivered", highlight=False)
    for step in report.steps:
        console.print(f"  • {step.what}: {', '.join(step.ids)}", highlight=False, markup=False)
    console.print(f"{len(report.deliveries)} webhooks sent, {len(report.deliveries)} accepted", highlight=False)
    if run.receipt is not None:
        where = " in the development outbox" if run.receipt.in_outbox else ""
        console.print(
            f"receipt for invoice {run.receipt.invoice_id}: mail {run.receipt.mail_id}, {run.receipt.state}{where}",
            highlight=False,
        )
    elif report.receipt_invoice_id is not None:
        console.print(
            f"the receipt for invoice {report.receipt_invoice_id} is not sent yet (is a worker running?)",
            highlight=False,
        )
    money = run.money
    if money is not None and money.dunning_state is not None:
        console.print(
            f"dunning case for subscription {money.dunning_subscription_id}: {money.dunning_state} "
            f"until {money.grace_until}",
            highlight=False,
        )
    elif report.dunning_subscription_id is not None:
        console.print(
            f"no dunning case yet for subscription {report.dunning_subscription_id} (is a worker running?)",
            highlight=False,
        )
    if money is not None:
        console.print(
            f"fees reconciled: {money.fees_recorded} charge(s) and refund(s) recorded, "
            f"{money.fees_unchanged} unchanged",
            highlight=False,
        )
    console.print("[bold]where to look next[/bold]")
    seats_step = next((step for step in report.steps if repr(UNREADABLE_SEATS) in step.what), None)
    subscription_id = seats_step.ids[-1] if seats_step and seats_step.ids else None
    lines = next_steps(
        run.base_url,
        run.has_tokens,
        run.dead_letters,
        subscription_id,
        url=url,
        renewal_days=run.renewal_days,
        example_id=run.example_id,
        receipt=run.receipt,
        money=run.money,
        run_id=report.run_id,
        checkout=(
            (report.checkout_session_id, report.checkout_customer_id)
            if report.checkout_session_id and report.checkout_customer_id
            else None
        ),
        meter=run.meter,
    )
    for line in lines:
        console.print(f"  {line}", highlight=False, markup=False)  # `metadata[seats]` is no tag


__all__ = [
    "DeadLetterCheck",
    "DuplicateRecorder",
    "MoneyFound",
    "ReceiptFound",
    "check_dead_letters",
    "days_until",
    "demo_command",
    "demo_money",
    "find_dunning_case",
    "find_receipt",
    "money_steps",
    "next_steps",
    "other_world_message",
    "print_run",
    "receipt_steps",
    "register",
    "service_answers",
]
