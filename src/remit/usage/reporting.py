"""Reporting usage: :func:`report_usage` / :func:`report_usage_many` (the API hosts call), the report job on
``remit_meters`` that sends records to the processor, and the meter reconciler that resends what stayed
pending.

::

    from remit.usage import report_usage

    async with runtime.db.begin() as conn:                     # the host's own transaction
        await report_usage(conn, "cus_123", "api_requests", 40, operation_id="req-2024-06-01-17")

The record and its report job commit with the caller's transaction, or neither does. A repeated operation id
returns the stored record and writes nothing. The job sends each record with the operation id as Stripe's
meter-event ``identifier`` (what Stripe dedupes meter events by) and, as the idempotency key, the operation id
in remit's own namespace (:func:`meter_idempotency_key`: ``remit-meter-event:<operation id>``), so a resend —
a retried job, the reconciler, a crash between the processor's answer and our commit — is counted once by the
processor, and a host's operation id never collides with another idempotency key on the account (a host that
also used ``demo-1`` as the key of a customer it created would otherwise have its report refused with
``idempotency_key_in_use``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from remit.config import MeterSpec
from remit.db.tables import meter_events
from remit.db.transactions import within
from remit.errors import ProcessorError, RemitError
from remit.jobs.context import JobContext, PeriodicContext
from remit.jobs.definition import job
from remit.jobs.retry import Backoff
from remit.jobs.rows import JobRequest
from remit.periodic import Counts, Cron, PeriodicTask
from remit.processor.base import Processor
from remit.processor.calls import processor_call
from remit.processor.errors import DUPLICATE_METER_EVENT
from remit.processor.faults import Fault, classify
from remit.runtime import Runtime, runtime_of
from remit.telemetry import ops
from remit.usage import records
from remit.usage.records import FailureSource, MeterEventRecord, MeterEventState
from remit.usage.values import UsageReport, check, format_units

log = logging.getLogger("remit.usage")

REPORT_JOB = "remit.usage.report"
#: Three quick attempts; after that the row stays ``pending`` and the reconciler resends it every minute.
REPORT_ATTEMPTS = 3
REPORT_BACKOFF = Backoff(base=5.0, factor=3.0, cap=120.0, jitter=0.2)
#: The most records one report job sends (and one API batch may carry).
BATCH_LIMIT = 1000
#: A ``pending`` record this old is the reconciler's.
RECONCILE_AFTER = timedelta(seconds=60)
RECONCILE_TASK_NAME = "meters.reconcile"
#: Records per reconciler job.
RECONCILE_BATCH = 100
#: A report job marks what it sent ``reported`` this many records at a time, not only at its end: a batch of
#: 1,000 takes the fake processor half a minute or more, and the records (the load test's progress, the
#: lag gauges, the reconciler after a crash) should not wait for the whole batch.
MARK_EVERY = 100
#: The fixed phrase of the throttle log line and snooze reason (identifiers go in its fields).
ACTIVITY = "usage reporting"
#: Where the fake processor's meters are known to exist, once per runtime.
_FAKE_METERS_READY = "usage.fake_meters_ready"
#: The namespace of a meter event's idempotency key, and (with ``-sha256:``) of a hashed one.
METER_KEY_PREFIX = "remit-meter-event"
#: Stripe's longest idempotency key.
MAX_IDEMPOTENCY_KEY = 255


def meter_idempotency_key(operation_id: str) -> str:
    """The processor idempotency key of the meter event for ``operation_id`` (pure):
    ``remit-meter-event:<operation id>``, or, when that would pass Stripe's 255 characters,
    ``remit-meter-event-sha256:<hex of the operation id>``. The two forms cannot meet (``:`` or ``-`` follows
    the prefix), and one operation id always gives one key, so a resend is the same request to the processor."""
    key = f"{METER_KEY_PREFIX}:{operation_id}"
    if len(key) <= MAX_IDEMPOTENCY_KEY:
        return key
    return f"{METER_KEY_PREFIX}-sha256:{hashlib.sha256(operation_id.encode()).hexdigest()}"


class SyncReportInTransaction(RemitError):
    """``sync=True`` was asked inside an open transaction: the processor call would hold it open."""


@dataclass(frozen=True, slots=True)
class UsageOutcome:
    """The stored record of one report, and whether this call stored it (False: the operation id was
    stored already, by this report's earlier try or by another caller)."""

    record: MeterEventRecord
    created: bool


async def report_usage(
    conn: AsyncConnection,
    customer: str,
    meter: str,
    value: int | str | object,
    *,
    operation_id: str,
    timestamp: datetime | None = None,
    sync: bool = False,
) -> UsageOutcome:
    """Record one usage report in ``conn``'s transaction and queue its sending (see the module docs).
    ``conn`` is one of the runtime's connections (``runtime.db.begin()``, a job's or a handler's), which is
    where the runtime is found (:func:`~remit.runtime.runtime_of`); on one with no open transaction
    (``runtime.db.connect()``) the record commits at once (:func:`remit.db.transactions.within`).

    With ``sync=True`` pass a connection with no open transaction (``runtime.db.connect()``): the record is
    committed on it at once, then sent; a refusal marks it ``failed`` (source ``sync``), a throttle or an
    outage leaves it ``pending`` for the reconciler. Raises :class:`~remit.usage.values.UsageRefused` before
    writing anything when the report is invalid."""
    report = UsageReport(customer, meter, value, operation_id, timestamp)  # type: ignore[arg-type]
    return (await report_usage_many(conn, [report], sync=sync))[0]


async def report_usage_many(
    conn: AsyncConnection, reports: Sequence[UsageReport], *, sync: bool = False
) -> list[UsageOutcome]:
    """Record a batch (at most :data:`BATCH_LIMIT`) in one statement and queue one report job for its new
    records; the outcomes in the order of ``reports``. Every report is checked first: one invalid report
    refuses the whole batch and writes nothing."""
    if len(reports) > BATCH_LIMIT:
        from remit.usage.values import UsageRefused

        raise UsageRefused("events", "too_many_events", f"a batch holds at most {BATCH_LIMIT} events")
    runtime = runtime_of(conn)
    now = runtime.clock.now()
    meters = runtime.settings.meters
    checked = [check(report, meters, now) for report in reports]
    if not sync:
        async with within(conn):
            return (await _store(runtime, conn, checked, now, enqueue=True))[0]
    if conn.in_transaction():
        raise SyncReportInTransaction(
            "report_usage(sync=True) runs outside any open transaction: pass runtime.db.connect()'s connection"
        )
    async with conn.begin():
        outcomes, new_ids = await _store(runtime, conn, checked, now, enqueue=False)
    if new_ids:
        try:
            await send(runtime, runtime.processor, new_ids, FailureSource.SYNC)
        except ProcessorError as error:  # throttled, unreachable or refused key: the reconciler resends
            log.warning(
                "%s deferred to the reconciler",
                ACTIVITY,
                extra={"status_code": error.status_code, "meter_event_ids": new_ids[:10]},
            )
    async with conn.begin():
        stored = await records.by_operation_ids(conn, [o.record.operation_id for o in outcomes])
    return [UsageOutcome(stored[o.record.operation_id], o.created) for o in outcomes]


async def _store(
    runtime: Runtime, conn: AsyncConnection, checked: Sequence[object], now: datetime, *, enqueue: bool
) -> tuple[list[UsageOutcome], list[int]]:
    from remit.usage.values import CheckedUsage

    usages = [u for u in checked if isinstance(u, CheckedUsage)]
    # One report repeated inside a batch is one record too: the first occurrence is the one stored.
    unique = list({u.operation_id: u for u in reversed(usages)}.values())[::-1]
    created = await records.insert_many(conn, unique, now)
    # New rows are known from what was inserted; only repeats are read back (their stored row may differ).
    stored = {
        u.operation_id: records.new_record(created[u.operation_id], u, now) for u in unique if u.operation_id in created
    }
    repeats = [u.operation_id for u in unique if u.operation_id not in created]
    if repeats:
        stored.update(await records.by_operation_ids(conn, repeats))
    new_ids = sorted(created.values())
    if enqueue and new_ids:
        await runtime.engine.enqueue(conn, report_meter_events, {"ids": new_ids, "source": FailureSource.SYNC.value})
    seen: set[str] = set()
    outcomes = []
    for usage in usages:
        first = usage.operation_id in created and usage.operation_id not in seen
        seen.add(usage.operation_id)
        outcomes.append(UsageOutcome(stored[usage.operation_id], first))
    return outcomes, new_ids


def _payload(record: MeterEventRecord, meter: MeterSpec) -> dict[str, str]:
    return {"stripe_customer_id": record.customer_id, "value": format_units(record.value, meter.decimals)}


async def ensure_fake_meters(runtime: Runtime) -> None:
    """With the fake processor, make sure it has a billing meter for every declared meter (once per runtime),
    so the demo and a newcomer's first report are counted, not answered with ``no_meter_found``."""
    processor = runtime.processor
    if processor.name != "fake" or runtime.extensions.get(_FAKE_METERS_READY):
        return
    request = getattr(processor, "request", None)
    if request is None:
        return
    listed = await request("GET", "/v1/billing/meters", {"limit": 100})
    known = {meter["event_name"] for meter in listed["data"]}
    for spec in runtime.settings.meters.values():
        if spec.event_name not in known:
            await request(
                "POST",
                "/v1/billing/meters",
                {
                    "display_name": spec.name,
                    "event_name": spec.event_name,
                    "default_aggregation": {"formula": spec.aggregation},
                },
                idempotency_key=f"remit-meter:{spec.event_name}",
            )
    runtime.extensions[_FAKE_METERS_READY] = True


async def send(runtime: Runtime, processor: Processor, ids: Sequence[int], source: FailureSource) -> dict[str, int]:
    """Send the ``pending`` records among ``ids`` to the processor, one meter event each; counts by outcome.
    What was sent is marked ``reported`` every :data:`MARK_EVERY` records and at the end.

    A refusal (a 4xx other than 429/401/403) marks the record ``failed`` with the processor's code and emits
    ``meter_reporting_failed`` once, except Stripe's refusal of an ``identifier`` it has counted already
    (:data:`~remit.processor.errors.DUPLICATE_METER_EVENT`: an earlier send whose answer we never recorded,
    under a key Stripe has forgotten or the key an older remit used), which marks it ``reported``; any other
    fault is raised after what was sent so far is recorded (the caller's job snoozes or retries; the rest stay
    ``pending``)."""
    counts = {"reported": 0, "failed": 0, "skipped": 0}
    async with runtime.db.read() as conn:
        rows = await records.by_ids(conn, ids)
    pending = [r for r in rows if r.state is MeterEventState.PENDING]
    counts["skipped"] = len(ids) - len(pending)
    if not pending:
        return counts
    await ensure_fake_meters(runtime)
    meters = runtime.settings.meters
    reported: list[int] = []  # sent, not yet marked
    marked: set[int] = set()
    refused: list[tuple[MeterEventRecord, str]] = []
    try:
        for record in pending:
            meter = meters.get(record.meter)
            if meter is None:  # the meter was removed from the configuration since
                refused.append((record, "meter_not_declared"))
                continue
            try:
                await processor.create_meter_event(
                    event_name=meter.event_name,
                    payload=_payload(record, meter),
                    identifier=record.operation_id,
                    idempotency_key=meter_idempotency_key(record.operation_id),
                    timestamp=int(record.timestamp.timestamp()),
                )
            except ProcessorError as error:
                if classify(error) is not Fault.REFUSED:
                    raise
                if error.code != DUPLICATE_METER_EVENT:  # a duplicate was counted already: reported, below
                    refused.append((record, error.code or f"http_{error.status_code}"))
                    continue
            reported.append(record.id)
            if len(reported) >= MARK_EVERY:
                async with runtime.db.begin() as conn:
                    counts["reported"] += await records.mark_reported(conn, reported, runtime.clock.now())
                marked.update(reported)
                reported = []
    finally:
        now = runtime.clock.now()
        async with runtime.db.begin() as conn:
            counts["reported"] += await records.mark_reported(conn, reported, now)
            marked.update(reported)
            failed = []
            for record, code in refused:
                failed += await records.fail(conn, meter_events.c.id == record.id, source, code, now)
            for record in pending:
                if record.id not in marked:
                    await records.note_attempt(conn, record.id, now)
        counts["failed"] = len(failed)
        announce_failed(failed)
    return counts


def announce_failed(failed: Sequence[MeterEventRecord]) -> None:
    """``meter_reporting_failed`` for each record that just moved to ``failed`` (after that move committed)."""
    for record in failed:
        ops.emit(
            "meter_reporting_failed",
            source=record.failed_source,
            meter_event_id=record.id,
            operation_id=record.operation_id,
            meter=record.meter,
            customer_id=record.customer_id,
            code=record.error_code,
        )


@job(
    queue="remit_meters",
    name=REPORT_JOB,
    max_attempts=REPORT_ATTEMPTS,
    backoff=REPORT_BACKOFF,
    timeout=600.0,
)
async def report_meter_events(ctx: JobContext[Runtime], ids: list[int], source: str = "sync") -> None:
    """Send the records ``ids`` (those still ``pending``). A 429 snoozes the job, expired credentials pause
    ``remit_meters`` (:func:`~remit.processor.calls.processor_call`); an outage retries it a few times, then
    leaves the rest to the reconciler."""
    async with processor_call(ctx, ACTIVITY):
        await send(ctx.app, ctx.app.processor, ids, FailureSource(source))


def reconciler_slot_key(slot: int) -> str:
    """The unique key of the reconciler's ``slot``-th batch (0: the oldest records)."""
    return f"{REPORT_JOB}:reconciler:{slot}"


async def reconcile(ctx: PeriodicContext[object]) -> Counts:
    """The meter reconciler: ``pending`` records older than :data:`RECONCILE_AFTER`, oldest first, at most
    :data:`BATCH_LIMIT` per run, get a report job (source ``reconciler``) in batches of
    :data:`RECONCILE_BATCH`.

    Each batch's job is unique per slot (:func:`reconciler_slot_key`): while an outage keeps a slot's job
    retrying, later runs queue nothing new for that slot, so at most ``BATCH_LIMIT / RECONCILE_BATCH`` resend
    jobs exist however long the outage lasts. A record whose slot is still busy waits for the next run."""
    cutoff = ctx.clock.now() - RECONCILE_AFTER
    async with ctx.db.begin() as conn:
        ids = await records.pending_before(conn, cutoff, BATCH_LIMIT)
        requests = [
            JobRequest(
                report_meter_events,
                {"ids": ids[i : i + RECONCILE_BATCH], "source": FailureSource.RECONCILER.value},
                unique_key=reconciler_slot_key(i // RECONCILE_BATCH),
            )
            for i in range(0, len(ids), RECONCILE_BATCH)
        ]
        queued = await ctx.engine.enqueue_many(conn, requests)
    return {"pending": len(ids), "jobs": len(queued), "busy": len(requests) - len(queued)}


#: Every minute, leader only, on ``remit_meters``.
RECONCILE_TASK: PeriodicTask[PeriodicContext[object]] = PeriodicTask(
    RECONCILE_TASK_NAME, Cron("* * * * *"), reconcile, queue="remit_meters"
)

__all__ = [
    "ACTIVITY",
    "BATCH_LIMIT",
    "MARK_EVERY",
    "MAX_IDEMPOTENCY_KEY",
    "METER_KEY_PREFIX",
    "RECONCILE_AFTER",
    "RECONCILE_BATCH",
    "RECONCILE_TASK",
    "RECONCILE_TASK_NAME",
    "REPORT_ATTEMPTS",
    "REPORT_JOB",
    "SyncReportInTransaction",
    "UsageOutcome",
    "announce_failed",
    "ensure_fake_meters",
    "meter_idempotency_key",
    "reconcile",
    "reconciler_slot_key",
    "report_meter_events",
    "report_usage",
    "report_usage_many",
    "send",
]
