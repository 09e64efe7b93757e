"""The usage load test: synthetic usage through the real reporting path and queues, measured end to end.

:func:`run_load` creates ``customers`` customers at the processor, reports ``events_per_day`` usage events
per customer per day over the last ``days`` days through :func:`~remit.usage.report_usage_many` (the path
``POST /api/v1/usage`` takes: one transaction and one report job on ``remit_meters`` per batch) — or over
HTTP through that very endpoint of a running service (``api_sender``) — queues a run
of the rollup on ``remit_usage``, and follows until every event of the run is reported (or failed) and
counted in the rollups — the worker does the work, exactly as in production. With ``invoices`` each customer
also gets a subscription at the processor, whose first invoice flows back through the webhook path to
``remit_invoices``, and the run also waits until each subscription's invoice is in the billing mirror.

The fake processor delivers the events of each call to ``REMIT_URL`` before it answers the call, one by
one (up to 10 s each), so a ``REMIT_URL`` that is not this remit stalls the setup for minutes and the invoices
never arrive. With ``invoices`` the load test therefore watches every delivery of its setup (the progress
shows the one it waits for) and stops at once, naming the URL and its answer, when the first customer's
events did not reach this database. Without ``invoices`` nothing needs those events: the fake keeps them
undelivered (``remit fake deliver`` sends them).

What it measures: reporting throughput (events stored per second), end-to-end throughput (events reported
per second from the first report to the last), the lag of each event from its record to ``reported``
(p50/p95/max), how long the rollups took to cover the run, and the depth of the queues (peak and at the end).
The plan (:class:`LoadPlan`) and the figures (:func:`percentiles`) are pure; the run is the thin part.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from remit.db.tables import invoices as mirrored_invoices
from remit.db.tables import meter_events, webhook_events
from remit.db.types import UtcDateTime
from remit.jobs.rows import JobRequest
from remit.jobs.scheduler import PERIODIC_DEFINITION
from remit.processor.fake.delivery import Delivery, DeliveryResult, SignedEvent
from remit.processor.fake.processor import FakeProcessor
from remit.runtime import Runtime
from remit.telemetry.redaction import mask_text
from remit.usage.records import MeterEventState
from remit.usage.reporting import BATCH_LIMIT, report_usage_many
from remit.usage.rollups import ROLLUP_TASK, watermark
from remit.usage.values import UsageReport

#: The processor takes meter events up to 35 days back; a day of margin keeps a long run inside the window.
MAX_DAYS = 34
MAX_CUSTOMERS = 10_000
#: The queues a load test loads and watches (``invoices`` adds the webhook and invoice queues).
USAGE_QUEUES = ("remit_meters", "remit_usage")
INVOICE_QUEUES = ("remit_webhooks", "remit_invoices")
#: The price of a load test's subscriptions at the fake processor (cents a month).
LOADTEST_PRICE_CENTS = 1000


class LoadTestRefused(ValueError):
    """A plan the load test will not run (too many customers, days outside the processor's window…)."""


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """What one load test reports: ``customers`` x ``days`` x ``events_per_day`` events on ``meter``, in
    batches of ``batch`` sent by ``concurrency`` producers. ``run`` tags every id of this run."""

    customers: int
    days: int
    events_per_day: int
    meter: str
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    batch: int = 500
    concurrency: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.customers <= MAX_CUSTOMERS:
            raise LoadTestRefused(f"--customers must be 1 to {MAX_CUSTOMERS}")
        if not 1 <= self.days <= MAX_DAYS:
            raise LoadTestRefused(f"--days must be 1 to {MAX_DAYS} (the processor takes 35 days back)")
        if not 1 <= self.events_per_day <= 86_400:
            raise LoadTestRefused("--events-per-day must be 1 to 86400")
        if not 1 <= self.batch <= BATCH_LIMIT:
            raise LoadTestRefused(f"--batch must be 1 to {BATCH_LIMIT}")
        if not 1 <= self.concurrency <= 32:
            raise LoadTestRefused("--concurrency must be 1 to 32")

    @property
    def total(self) -> int:
        return self.customers * self.days * self.events_per_day

    @property
    def prefix(self) -> str:
        """The operation ids of this run start with it."""
        return f"loadtest-{self.run}-"

    def customer_key(self, index: int) -> str:
        """The idempotency key that creates customer ``index`` at the processor."""
        return f"{self.prefix}customer-{index}"

    def events(self, customer_ids: Sequence[str], now: datetime) -> Iterator[UsageReport]:
        """Every event of the plan in time order (as a live store fills): day by day, each day's
        ``events_per_day`` slots spread evenly, every customer once per slot; the last slot ends before
        ``now``. Values cycle 1 to 5."""
        step = timedelta(days=1) / self.events_per_day
        first_day = now - timedelta(days=self.days)
        for day in range(self.days):
            for slot in range(self.events_per_day):
                moment = first_day + timedelta(days=day) + step * slot
                for index, customer in enumerate(customer_ids):
                    yield UsageReport(
                        customer,
                        self.meter,
                        1 + (slot + index) % 5,
                        f"{self.prefix}{index}-{day}-{slot}",
                        moment,
                    )

    def batches(self, customer_ids: Sequence[str], now: datetime) -> Iterator[list[UsageReport]]:
        chunk: list[UsageReport] = []
        for report in self.events(customer_ids, now):
            chunk.append(report)
            if len(chunk) == self.batch:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def percentiles(values: Sequence[float], points: Sequence[int] = (50, 95, 100)) -> dict[int, float]:
    """Nearest-rank percentiles of ``values`` (0.0 for an empty list); pure."""
    if not values:
        return {p: 0.0 for p in points}
    ordered = sorted(values)
    return {p: ordered[max(0, min(len(ordered) - 1, -(-p * len(ordered) // 100) - 1))] for p in points}


@dataclass(slots=True)
class Progress:
    """What a running load test shows: events stored and settled (reported or failed), queue depths."""

    total: int
    stored: int = 0
    settled: int = 0
    phase: str = "customers"
    #: Customers (or subscriptions) made so far in the setup phases.
    made: int = 0
    #: What the run waits for right now ("webhook invoice.paid -> http://…", "12 events to be reported, …").
    waiting: str = ""
    depths: dict[str, int] = field(default_factory=dict)
    peak_depths: dict[str, int] = field(default_factory=dict)

    def note_depths(self, depths: dict[str, int]) -> None:
        self.depths = depths
        for name, depth in depths.items():
            self.peak_depths[name] = max(self.peak_depths.get(name, 0), depth)


@dataclass(frozen=True, slots=True)
class LoadResult:
    """The figures a load test prints when done."""

    run: str
    customers: int
    events: int
    duplicates: int
    states: dict[str, int]
    report_s: float
    settle_s: float
    rollup_s: float | None
    lag_s: dict[int, float]
    depths: dict[str, int]
    peak_depths: dict[str, int]
    subscriptions: int
    finished: bool
    #: Subscriptions whose invoice reached the billing mirror (``invoices`` runs).
    invoices: int = 0
    #: The setup's webhook deliveries (``invoices`` runs with the fake): count, failed, p50 and max seconds.
    webhooks: dict[str, float] = field(default_factory=dict)
    #: What the run still waited for when it stopped ("" when finished).
    waiting: str = ""

    @property
    def report_per_s(self) -> float:
        return self.events / self.report_s if self.report_s else 0.0

    @property
    def end_to_end_per_s(self) -> float:
        return self.events / self.settle_s if self.settle_s else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "customers": self.customers,
            "events": self.events,
            "duplicates": self.duplicates,
            "states": self.states,
            "report_s": round(self.report_s, 3),
            "report_per_s": round(self.report_per_s, 1),
            "end_to_end_s": round(self.settle_s, 3),
            "end_to_end_per_s": round(self.end_to_end_per_s, 1),
            "lag_p50_s": round(self.lag_s[50], 3),
            "lag_p95_s": round(self.lag_s[95], 3),
            "lag_max_s": round(self.lag_s[100], 3),
            "rollup_s": None if self.rollup_s is None else round(self.rollup_s, 3),
            "queue_depths": self.depths,
            "peak_queue_depths": self.peak_depths,
            "subscriptions": self.subscriptions,
            "invoices": self.invoices,
            "webhooks": self.webhooks,
            "finished": self.finished,
            "waiting_for": self.waiting,
        }


#: How a batch is reported: the ``(record id, created)`` of each report, in order.
Sender = Callable[[list[UsageReport]], Awaitable[list[tuple[int, bool]]]]


def direct_sender(runtime: Runtime) -> Sender:
    """Report in this process, through :func:`~remit.usage.report_usage_many` (what the API calls)."""

    async def send(batch: list[UsageReport]) -> list[tuple[int, bool]]:
        async with runtime.db.begin() as conn:
            outcomes = await report_usage_many(conn, batch)
        runtime.wake_workers("remit_meters")
        return [(o.record.id, o.created) for o in outcomes]

    return send


def api_sender(client: httpx.AsyncClient, base_url: str, token: str) -> Sender:
    """Report over HTTP to a running ``remit serve`` / ``remit up``: ``POST /api/v1/usage`` with the batch."""
    url = base_url.rstrip("/") + "/api/v1/usage"

    async def send(batch: list[UsageReport]) -> list[tuple[int, bool]]:
        events = [
            {
                "customer": r.customer_id,
                "meter": r.meter,
                "value": str(r.value),
                "operation_id": r.operation_id,
                "timestamp": int(r.timestamp.timestamp()) if r.timestamp else None,
            }
            for r in batch
        ]
        answer = await client.post(url, json={"events": events}, headers={"Authorization": f"Bearer {token}"})
        if answer.status_code != 200:
            detail = answer.json().get("error", {}) if "json" in answer.headers.get("content-type", "") else {}
            raise LoadTestRefused(f"POST /api/v1/usage answered {answer.status_code} {detail.get('code', '')}".strip())
        return [(int(row["id"]), not row["duplicate"]) for row in answer.json()["data"]]

    return send


@dataclass(slots=True)
class WebhookDelivery:
    """One webhook delivery of the load test's setup: the event, the receiver's answer, how long it took."""

    event_id: str
    event_type: str
    result: DeliveryResult
    seconds: float


class WatchedDelivery:
    """Wraps the fake processor's delivery during the setup: says in the progress which event it is
    delivering to which URL (the fake waits for each before it answers the call), and keeps each outcome."""

    def __init__(self, inner: Delivery, progress: Progress, on_progress: Callable[[Progress], None]) -> None:
        self.inner = inner
        # Shown in the progress and in refusals: a URL's password or query credential never is.
        self.url = mask_text(str(getattr(inner, "url", "the configured delivery")))
        self.progress = progress
        self.on_progress = on_progress
        self.deliveries: list[WebhookDelivery] = []

    async def __call__(self, event: SignedEvent) -> DeliveryResult:
        self.progress.waiting = f"webhook {event.event_type} -> {self.url}"
        self.on_progress(self.progress)
        started = time.monotonic()
        result = await self.inner(event)
        self.deliveries.append(WebhookDelivery(event.event_id, event.event_type, result, time.monotonic() - started))
        self.progress.waiting = ""
        self.on_progress(self.progress)
        return result

    def since(self, index: int) -> list[WebhookDelivery]:
        return self.deliveries[index:]

    def figures(self) -> dict[str, float]:
        seconds = percentiles([d.seconds for d in self.deliveries])
        return {
            "delivered": sum(1 for d in self.deliveries if d.result.ok),
            "failed": sum(1 for d in self.deliveries if not d.result.ok),
            "p50_s": round(seconds[50], 3),
            "max_s": round(seconds[100], 3),
        }


async def check_webhooks_arrive(runtime: Runtime, watched: WatchedDelivery, sent: Sequence[WebhookDelivery]) -> None:
    """Refuse the run (:class:`LoadTestRefused`) unless every event in ``sent`` reached this remit's
    database: a delivery that failed names the URL and its answer; one taken by a receiver that did not store
    it here (another remit on ``REMIT_URL``) says so."""
    for item in sent:
        if not item.result.ok:
            answer = item.result.error or f"HTTP {item.result.status_code}"
            raise LoadTestRefused(
                f"the fake processor's webhooks do not reach this remit: {item.event_type} to {watched.url} "
                f"failed ({answer}, {item.seconds:.1f} s); --invoices needs REMIT_URL set to the running remit "
                "(remit up / remit serve on this database)"
            )
    ids = [item.event_id for item in sent]
    if not ids:
        return
    async with runtime.db.connect() as conn:
        found = set(
            (await conn.execute(sa.select(webhook_events.c.event_id).where(webhook_events.c.event_id.in_(ids))))
            .scalars()
            .all()
        )
    if missing := [item for item in sent if item.event_id not in found]:
        raise LoadTestRefused(
            f"{watched.url} took the fake processor's webhooks ({missing[0].event_type}) but they are not in this "
            "database: --invoices needs REMIT_URL set to a remit running on this DATABASE_URL"
        )


@asynccontextmanager
async def _setup_delivery(
    runtime: Runtime, *, invoices: bool, progress: Progress, on_progress: Callable[[Progress], None]
) -> AsyncIterator[WatchedDelivery | None]:
    """How the fake processor delivers during the setup: watched with ``invoices``, not at all without (the
    usage path needs none of the customers' events); the processor's own delivery again afterwards."""
    processor = runtime.processor
    if not isinstance(processor, FakeProcessor) or processor.engine.delivery is None:
        yield None
        return
    engine = processor.engine
    inner = engine.delivery
    assert inner is not None
    watched = WatchedDelivery(inner, progress, on_progress) if invoices else None
    engine.delivery = watched
    try:
        yield watched
    finally:
        engine.delivery = inner


async def _create_customers(
    runtime: Runtime,
    plan: LoadPlan,
    *,
    card: bool,
    progress: Progress,
    on_progress: Callable[[Progress], None],
    watched: WatchedDelivery | None,
) -> list[str]:
    ids = []
    for index in range(plan.customers):
        before = len(watched.deliveries) if watched is not None else 0
        customer = await runtime.processor.create_customer(
            idempotency_key=plan.customer_key(index),
            description=f"remit load test {plan.run}",
            metadata={"remit_loadtest": plan.run},
            payment_method="pm_card_visa" if card else None,
        )
        if index == 0 and watched is not None:  # before making more, see that the events reach remit
            await check_webhooks_arrive(runtime, watched, watched.since(before))
        ids.append(str(customer["id"]))
        progress.made = len(ids)
        on_progress(progress)
    return ids


async def _loadtest_price(runtime: Runtime, plan: LoadPlan, price: str | None) -> str:
    """The price the load test subscribes customers to: the one given, or one made at the fake processor."""
    if price is not None:
        return price
    processor: Any = runtime.processor
    if processor.name != "fake":
        raise LoadTestRefused("--invoices with the stripe processor needs --price (a test-mode price id)")
    product = await processor.create_product(name="remit load test", idempotency_key=f"{plan.prefix}product")
    created = await processor.create_price(
        product=product["id"], unit_amount=LOADTEST_PRICE_CENTS, idempotency_key=f"{plan.prefix}price"
    )
    return str(created["id"])


async def _subscribe(
    runtime: Runtime,
    plan: LoadPlan,
    customer_ids: Sequence[str],
    price: str,
    *,
    progress: Progress,
    on_progress: Callable[[Progress], None],
) -> list[str]:
    ids = []
    for index, customer in enumerate(customer_ids):
        subscription = await runtime.processor.create_subscription(
            customer=customer,
            items=[{"price": price, "quantity": 1}],
            idempotency_key=f"{plan.prefix}subscription-{index}",
            metadata={"remit_loadtest": plan.run},
        )
        ids.append(str(subscription["id"]))
        progress.made = len(ids)
        on_progress(progress)
    return ids


async def _invoiced(runtime: Runtime, subscription_ids: Sequence[str]) -> int:
    """How many of ``subscription_ids`` have an invoice in the billing mirror."""
    if not subscription_ids:
        return 0
    query = sa.select(sa.func.count(sa.distinct(mirrored_invoices.c.subscription_id))).where(
        mirrored_invoices.c.subscription_id.in_(list(subscription_ids))
    )
    async with runtime.db.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


def waiting_for(
    *, unsettled: int, rollup: bool, invoices_missing: int, failed_webhooks: int, depths: dict[str, int]
) -> str:
    """What the follow-up still waits for, in words (pure): the progress shows it."""
    parts = []
    if unsettled:
        parts.append(f"{unsettled} events to be reported")
    if rollup:
        parts.append("the rollup")
    if invoices_missing:
        hint = f" ({failed_webhooks} webhook deliveries failed: remit fake deliver)" if failed_webhooks else ""
        parts.append(f"{invoices_missing} invoices in the mirror{hint}")
    busy = [f"{name} {depth}" for name, depth in depths.items() if depth]
    if busy:
        parts.append("queues " + ", ".join(busy))
    return ", ".join(parts)


def _run_filter(plan: LoadPlan, span: tuple[int, int]) -> list[Any]:
    return [
        meter_events.c.id >= span[0],
        meter_events.c.id <= span[1],
        meter_events.c.operation_id.like(f"{plan.prefix}%"),
    ]


async def _states(runtime: Runtime, plan: LoadPlan, span: tuple[int, int]) -> dict[str, int]:
    query = (
        sa.select(meter_events.c.state, sa.func.count()).where(*_run_filter(plan, span)).group_by(meter_events.c.state)
    )
    counts = {state.value: 0 for state in MeterEventState}
    async with runtime.db.connect() as conn:
        for state, count in await conn.execute(query):
            counts[str(state)] = int(count)
    return counts


async def _lags(runtime: Runtime, plan: LoadPlan, span: tuple[int, int]) -> list[float]:
    """Seconds from each reported record's creation to its move to ``reported``."""
    query = sa.select(meter_events.c.created_at, meter_events.c.updated_at).where(
        *_run_filter(plan, span), meter_events.c.state == MeterEventState.REPORTED.value
    )
    decode = UtcDateTime()
    lags = []
    async with runtime.db.connect() as conn:
        for created, updated in await conn.execute(query):
            if isinstance(created, str):  # a raw SQLite text; the column type decodes it
                created, updated = (decode.process_result_value(v, conn.dialect) for v in (created, updated))
            lags.append(max(0.0, (updated - created).total_seconds()))
    return lags


async def _depths(runtime: Runtime, queues: Sequence[str]) -> dict[str, int]:
    stats = {s.name: s for s in await runtime.engine.queue_stats()}
    names = {key: runtime.engine.queue_name(key) for key in queues}
    return {key: (stats[name].depth + stats[name].executing if name in stats else 0) for key, name in names.items()}


async def _queue_rollup(runtime: Runtime) -> None:
    """A run of the rollup on ``remit_usage`` now (the worker's leader also runs it every minute)."""
    tick = runtime.clock.now().isoformat()
    request = JobRequest(
        PERIODIC_DEFINITION,
        {"task": ROLLUP_TASK.name, "tick": tick},
        queue=ROLLUP_TASK.queue,
        meta={"periodic": ROLLUP_TASK.name, "loadtest": True},
    )
    async with runtime.db.begin() as conn:
        await runtime.engine.enqueue_many(conn, [request])
    runtime.wake_workers()


async def run_load(
    runtime: Runtime,
    plan: LoadPlan,
    *,
    invoices: bool = False,
    price: str | None = None,
    timeout: float = 600.0,
    poll: float = 0.5,
    on_progress: Callable[[Progress], None] = lambda _: None,
    background: Callable[[], Awaitable[object]] | None = None,
    sender: Sender | None = None,
) -> LoadResult:
    """Run ``plan`` (see the module docs) and return its figures. ``background`` runs beside the follow-up
    (``remit usage loadtest --inline`` drains the queues in this process with it); otherwise a worker must be
    running. ``sender`` reports each batch (default: :func:`direct_sender`; ``--api`` uses
    :func:`api_sender`). Stops following after ``timeout`` seconds (``finished`` False)."""
    send = sender or direct_sender(runtime)
    queues = USAGE_QUEUES + (INVOICE_QUEUES if invoices else ())
    progress = Progress(plan.total)
    on_progress(progress)
    subscription_ids: list[str] = []
    async with _setup_delivery(runtime, invoices=invoices, progress=progress, on_progress=on_progress) as watched:
        customers = await _create_customers(
            runtime, plan, card=invoices, progress=progress, on_progress=on_progress, watched=watched
        )
        if invoices:
            price_id = await _loadtest_price(runtime, plan, price)
            progress.phase, progress.made = "subscribing", 0
            on_progress(progress)
            subscription_ids = await _subscribe(
                runtime, plan, customers, price_id, progress=progress, on_progress=on_progress
            )
    failed_webhooks = 0 if watched is None else int(watched.figures()["failed"])
    progress.phase = "reporting"
    now = runtime.clock.now()
    pending = plan.batches(customers, now)
    span = [2**62, 0]
    duplicates = 0
    lock = asyncio.Lock()

    async def producer() -> None:
        nonlocal duplicates
        while True:
            async with lock:
                chunk = next(pending, None)
            if chunk is None:
                return
            outcomes = await send(chunk)
            ids = [record_id for record_id, _ in outcomes]
            span[0], span[1] = min(span[0], *ids), max(span[1], *ids)
            duplicates += sum(1 for _, created in outcomes if not created)
            progress.stored += len(chunk)
            on_progress(progress)

    started = time.monotonic()
    await asyncio.gather(*(producer() for _ in range(plan.concurrency)))
    report_s = time.monotonic() - started
    run_span = (span[0], span[1])
    await _queue_rollup(runtime)
    progress.phase = "following"
    helper = asyncio.ensure_future(background()) if background is not None else None
    deadline = started + timeout
    rollup_s: float | None = None
    settle_s = 0.0
    rollup_queued = time.monotonic()
    states: dict[str, int] = {}
    invoiced = 0
    try:
        while True:
            states = await _states(runtime, plan, run_span)
            progress.settled = states[MeterEventState.REPORTED.value] + states[MeterEventState.FAILED.value]
            progress.note_depths(await _depths(runtime, queues))
            if invoiced < len(subscription_ids):
                invoiced = await _invoiced(runtime, subscription_ids)
            if rollup_s is None:
                async with runtime.db.connect() as conn:
                    if await watermark(conn) >= run_span[1]:
                        rollup_s = time.monotonic() - started - report_s
                # A rollup run deferred by a busy table (see rollups.high_mark) is queued again.
                if rollup_s is None and not progress.depths["remit_usage"] and time.monotonic() - rollup_queued > 2:
                    await _queue_rollup(runtime)
                    rollup_queued = time.monotonic()
            if progress.settled >= plan.total and not settle_s:
                settle_s = time.monotonic() - started
            progress.waiting = waiting_for(
                unsettled=plan.total - progress.settled,
                rollup=rollup_s is None,
                invoices_missing=len(subscription_ids) - invoiced,
                failed_webhooks=failed_webhooks,
                depths=progress.depths,
            )
            on_progress(progress)
            # Done once every event settled, the rollup caught up, every subscription's invoice is in the
            # mirror and the queues drained: the job that reported the last events may still be finishing when
            # their rows already say reported, and an invoice's document job comes after its mirror row.
            if not progress.waiting or time.monotonic() > deadline:
                break
            await asyncio.sleep(poll)
    finally:
        if helper is not None:
            helper.cancel()
            await asyncio.gather(helper, return_exceptions=True)
    finished = not progress.waiting
    return LoadResult(
        run=plan.run,
        customers=plan.customers,
        events=plan.total,
        duplicates=duplicates,
        states=states,
        report_s=report_s,
        settle_s=settle_s or time.monotonic() - started,
        rollup_s=rollup_s,
        lag_s=percentiles(await _lags(runtime, plan, run_span)),
        depths=progress.depths,
        peak_depths=progress.peak_depths,
        subscriptions=len(subscription_ids),
        finished=finished,
        invoices=invoiced,
        webhooks={} if watched is None else watched.figures(),
        waiting=progress.waiting,
    )


__all__ = [
    "INVOICE_QUEUES",
    "MAX_CUSTOMERS",
    "MAX_DAYS",
    "USAGE_QUEUES",
    "LoadPlan",
    "LoadResult",
    "LoadTestRefused",
    "Progress",
    "Sender",
    "WatchedDelivery",
    "WebhookDelivery",
    "api_sender",
    "check_webhooks_arrive",
    "direct_sender",
    "percentiles",
    "run_load",
    "waiting_for",
]
