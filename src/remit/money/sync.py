"""Payment sync: re-fetch charges, invoices and subscriptions the mirror may hold stale, and heal them through
the webhooks' own watermarked upsert.

A webhook can be lost (an endpoint down past the processor's retries, a secret rotated wrongly). Rows left in a
non-final state — a charge ``pending``, an invoice ``draft`` or ``open``, a subscription ``incomplete``,
``past_due`` or ``trialing`` — for longer than ``REMIT_PAYMENT_SYNC_STALE_MINUTES`` are re-fetched, oldest first,
at most ``REMIT_PAYMENT_SYNC_BATCH`` per run; ``since`` (``remit payments sync --since``) re-fetches every row
created since then, whatever its state. Each fetched object is applied as a synthetic ``<object>.updated``
event (:func:`remit.billing.projection.apply_event`): the same watermark rule as a webhook. It is stamped with
the time of the fetch, or one second past the row's stored watermark when that is later (a processor clock
ahead of remit's): the fetched object is the processor's state after every event already applied, so it must
win over them, and an older webhook arriving later changes nothing.

A re-fetched subscription that changed also goes through the dunning handler's work
(:func:`remit.money.dunning.follow_subscription`), in the same transaction: a case in ``requested`` whose
confirming webhook never arrived is exhausted (``dunning_exhaustion`` once) when the sync sees ``unpaid`` or
``canceled``, and a subscription seen ``past_due`` or paid again opens or recovers its case.

A row that looks final is never stuck, so the run also reads the processor's event stream since its cursor
(:mod:`remit.money.sync_events`): each charge, invoice or subscription whose newest event there is newer than the
mirror row's watermark (or has no row) is re-fetched first (``stale_by_events``), stamped at least one second
past that event, and the cursor moves on once the pass has applied them. ``since`` runs skip the stream.

A 429 ends the run with the log line ``payment sync throttled``, keeping the cursor where it was (the next run
continues from it); any other error on one object is counted ``failed`` and the run goes on — keeping the cursor
too when it was no answer, a 5xx or a refused key (401/403) on an object only the event stream found stale.

Any other error on the event list keeps the cursor (a window given up would be changes never looked at) and
the run goes on with the stuck rows; the run's ``event_read`` says how the list went (``read``, ``throttled``,
``failed``, ``refused``) and ``remit_payment_sync_event_reads_total{outcome}`` counts it. No answer or a 5xx is
``failed`` (``payment sync event read failed``, a warning: the next run asks again). A 4xx is ``refused``
(``payment sync event read refused``, an error, with status, code and param only): asking the same again will
not help, so it is counted for the alert ``RemitPaymentSyncEventsRefused`` and ``remit payments sync`` exits 1
naming it — except a 400 or 404 naming the backlog's own ``starting_after`` (its event gone from the
processor, or unknown to the account or mode the key now names), after which the backlog forgets that event
and re-reads its second from the top (``failed``: the next run reads); no fix of the cause would change that
answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from remit.billing.projection import ApplyStatus, apply_event
from remit.db.tables import charges, invoices, subscriptions
from remit.errors import ProcessorError
from remit.jobs.context import PeriodicContext
from remit.money.dunning import follow_subscription
from remit.money.sync_events import (
    Cursor,
    Newest,
    advance,
    load_cursor,
    newest_per_object,
    read_events,
    read_window,
    save_cursor,
    stale_objects,
    stored_watermarks,
)
from remit.periodic import Counts, Cron, PeriodicTask
from remit.processor.base import Processor, StripeObject
from remit.processor.faults import Fault, classify
from remit.runtime import Runtime
from remit.telemetry import metrics

log = logging.getLogger("remit.money.sync")

SYNC_TASK_NAME = "money.payment_sync"


@dataclass(frozen=True, slots=True)
class SyncKind:
    object_type: str
    table: sa.Table
    unsettled: tuple[str, ...]
    event_type: str


KINDS = (
    SyncKind("charge", charges, ("pending",), "charge.updated"),
    SyncKind("invoice", invoices, ("draft", "open"), "invoice.updated"),
    SyncKind("subscription", subscriptions, ("incomplete", "past_due", "trialing"), "customer.subscription.updated"),
)
BY_TYPE = {kind.object_type: kind for kind in KINDS}


@dataclass
class SyncRun:
    dry_run: bool
    candidates: list[tuple[str, str]] = field(default_factory=list)
    stale_by_events: int = 0
    events_read: int = 0
    cursor: Cursor | None = None
    applied: int = 0
    unchanged: int = 0
    failed: int = 0
    throttled: bool = False
    #: How the event list went: ``skipped`` (a ``since`` run), ``read``, ``throttled``, ``failed``, ``refused``.
    event_read: str = "skipped"
    #: The processor's answer when the list was not read: status, code and param (names, never values).
    event_error: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        events = self.stale_by_events
        return {
            "dry_run": self.dry_run,
            "event_read": self.event_read,
            "event_error": self.event_error,
            "candidates": len(self.candidates),
            "stale_by_events": events,
            "events_read": self.events_read,
            "objects": [
                {"object_type": kind, "id": object_id, "reason": "events" if index < events else "stuck"}
                for index, (kind, object_id) in enumerate(self.candidates)
            ],
            "applied": self.applied,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "throttled": self.throttled,
            "cursor": self.cursor.to_json() if self.cursor else None,
        }


@dataclass(frozen=True, slots=True)
class Refetch:
    """One object to re-fetch: the mirror row's watermark time (if any) and, when the event stream found it
    stale, its newest event there."""

    object_type: str
    object_id: str
    stored: datetime | None
    newest: Newest | None = None


async def candidates(runtime: Runtime, *, since: datetime | None, limit: int) -> list[tuple[str, str]]:
    """``(object type, id)`` to re-fetch, oldest update first, at most ``limit``."""
    return [(found.object_type, found.object_id) for found in await _candidates(runtime, since, limit)]


async def _candidates(runtime: Runtime, since: datetime | None, limit: int) -> list[Refetch]:
    now = runtime.clock.now()
    cutoff = now - timedelta(minutes=runtime.settings.payment_sync_stale_minutes)
    found: list[tuple[datetime, str, str, datetime]] = []
    async with runtime.db.connect() as conn:
        for kind in KINDS:
            table = kind.table
            query = sa.select(table.c.stripe_id, table.c.updated_at, table.c.watermark_created).where(
                sa.not_(table.c.deleted)
            )
            if since is not None:
                query = query.where(table.c.created >= since)
            else:
                query = query.where(table.c.status.in_(kind.unsettled), table.c.updated_at < cutoff)
            query = query.order_by(table.c.updated_at, table.c.id).limit(limit)
            found += [
                (row.updated_at, kind.object_type, row.stripe_id, row.watermark_created)
                for row in await conn.execute(query)
            ]
    found.sort()
    return [Refetch(object_type, object_id, mark) for _, object_type, object_id, mark in found[:limit]]


async def _fetch(processor: Processor, object_type: str, object_id: str) -> StripeObject:
    if object_type == "charge":
        return await processor.retrieve_charge(object_id)
    if object_type == "invoice":
        return await processor.retrieve_invoice(object_id)
    return await processor.retrieve_subscription(object_id)


def synthetic_event(
    kind: SyncKind,
    obj: StripeObject,
    fetched_at: datetime,
    stored: datetime | None,
    newest: Newest | None = None,
) -> dict[str, Any]:
    """The fetched object as the event a webhook would have carried, stamped with the fetch time or one second
    past the stored watermark or past the newest listed event, whichever is latest: the fetch saw every one of
    them. A deleting newest event (``customer.subscription.deleted``) keeps its type, so the row is deleted as
    its webhook would have deleted it."""
    floors = [int(fetched_at.timestamp())]
    floors += [int(stored.timestamp()) + 1] if stored is not None else []
    floors += [int(newest.watermark.event_created.timestamp()) + 1] if newest is not None else []
    stamp = max(floors)
    return {
        "id": f"evt_remit_sync_{obj.get('id')}_{stamp}",
        "object": "event",
        "type": newest.event_type if newest is not None and newest.deleting else kind.event_type,
        "created": stamp,
        "livemode": bool(obj.get("livemode")),
        "data": {"object": obj},
    }


async def _cursor(runtime: Runtime) -> Cursor:
    async with runtime.db.connect() as conn:
        return await load_cursor(
            conn, now=runtime.clock.now(), window=timedelta(hours=runtime.settings.payment_sync_events_window_hours)
        )


async def _stale_by_events(runtime: Runtime, run: SyncRun, cursor: Cursor) -> tuple[list[Refetch], Cursor]:
    """The objects the event stream shows stale, and the cursor to keep once they are applied."""
    settings = runtime.settings
    gte, lte = read_window(cursor, timedelta(seconds=settings.payment_sync_events_overlap_seconds))
    read = await read_events(
        runtime.processor, gte, lte, after=cursor.backlog_after, max_pages=settings.payment_sync_event_pages
    )
    run.events_read = len(read.events)
    newest = newest_per_object(read.events)
    async with runtime.db.connect() as conn:
        stored = await stored_watermarks(conn, newest)
    stale = [
        Refetch(
            kind,
            object_id,
            stored[(kind, object_id)].event_created if (kind, object_id) in stored else None,
            newest[(kind, object_id)],
        )
        for kind, object_id in stale_objects(newest, stored)
    ]
    return stale, advance(cursor, read.events, complete=read.complete)


def _event_read(run: SyncRun, outcome: str, error: ProcessorError | None = None) -> None:
    run.event_read = outcome
    if error is not None:
        run.event_error = {"status_code": error.status_code, "code": error.code, "param": error.param}
    metrics.payment_sync_event_reads_total.labels(outcome=outcome).inc()


def _event_read_failed(run: SyncRun, cursor: Cursor, error: ProcessorError) -> Cursor | None:
    """Record a list that failed (not a 429); the cursor to save instead of the kept one, if any."""
    if error.is_retryable:
        _event_read(run, "failed", error)
        log.warning("payment sync event read failed", extra=run.event_error)
        return None
    if error.status_code in (400, 404) and error.param == "starting_after" and cursor.backlog_after is not None:
        # The processor does not know the event the backlog stopped at (gone past its retention, or of another
        # account or mode than the key now names; Stripe may answer either 404 or 400): its second is read again
        # from the top instead. Events already judged cost nothing; none is skipped.
        _event_read(run, "failed", error)
        log.warning("payment sync backlog position lost", extra=run.event_error)
        return replace(cursor, backlog_after=None)
    # Asking the same again will not help, and a window given up would be changes never looked at: the cursor
    # stays, and the refusal is counted for the alert and named in the run's answer.
    _event_read(run, "refused", error)
    log.error("payment sync event read refused", extra=run.event_error)
    return None


def _throttled(run: SyncRun, error: ProcessorError) -> None:
    run.throttled = True
    log.warning("payment sync throttled", extra={"retry_after": error.retry_after, "done": run.applied})


async def sync_payments(
    runtime: Runtime, *, since: datetime | None = None, dry_run: bool = False, limit: int | None = None
) -> SyncRun:
    """One payment sync run (see the module docs)."""
    run = SyncRun(dry_run)
    found: list[Refetch] = []
    next_cursor: Cursor | None = None
    if since is None:
        cursor = await _cursor(runtime)
        try:
            found, next_cursor = await _stale_by_events(runtime, run, cursor)
        except ProcessorError as error:
            if error.is_rate_limit:
                _event_read(run, "throttled", error)
                _throttled(run, error)
                return run
            # The stream stays unread and the cursor where it was; the stuck rows are still worth fetching.
            next_cursor = _event_read_failed(run, cursor, error)
        else:
            _event_read(run, "read")
    run.stale_by_events = len(found)
    seen = {(item.object_type, item.object_id) for item in found}
    found += [
        item
        for item in await _candidates(runtime, since, limit or runtime.settings.payment_sync_batch)
        if (item.object_type, item.object_id) not in seen
    ]
    run.candidates = [(item.object_type, item.object_id) for item in found]
    run.cursor = next_cursor
    if dry_run:
        return run
    for item in found:
        try:
            await _refetch(runtime, run, item)
        except ProcessorError as error:
            if error.is_rate_limit:
                _throttled(run, error)
                return run  # the cursor stays: the next run reads the same events and fetches what is left
            if item.newest is not None and (error.is_retryable or classify(error) is Fault.CREDENTIALS_EXPIRED):
                next_cursor = None  # only the event stream knows this object is stale: read it again next run
            run.failed += 1
            metrics.payment_sync_objects_total.labels(object_type=item.object_type, outcome="failed").inc()
            log.warning(
                "payment sync fetch failed",
                extra={"object_type": item.object_type, "object_id": item.object_id, "status_code": error.status_code},
            )
    if next_cursor is not None:
        async with runtime.db.begin() as conn:
            await save_cursor(conn, next_cursor, now=runtime.clock.now())
    return run


async def _refetch(runtime: Runtime, run: SyncRun, item: Refetch) -> None:
    """Fetch one object and apply it through the webhooks' watermarked upsert (and the dunning handler's work)."""
    kind = BY_TYPE[item.object_type]
    try:
        obj = await _fetch(runtime.processor, item.object_type, item.object_id)
    except ProcessorError as error:
        if not (error.status_code == 404 and item.newest is not None and item.newest.deleting):
            raise
        obj = {"id": item.object_id, "object": item.object_type, "deleted": True}  # gone, as its event said
    event = synthetic_event(kind, obj, runtime.clock.now(), item.stored, item.newest)
    async with runtime.db.begin() as conn:
        result = await apply_event(conn, runtime, event)
        applied = result.status in (ApplyStatus.APPLIED, ApplyStatus.DELETED)
        if applied and item.object_type == "subscription":
            await follow_subscription(runtime, conn, event, event_id=None, processor_event_id=str(event["id"]))
    outcome = "applied" if applied else "unchanged"
    setattr(run, outcome, getattr(run, outcome) + 1)
    metrics.payment_sync_objects_total.labels(object_type=item.object_type, outcome=outcome).inc()


async def sync_task(ctx: PeriodicContext[Runtime]) -> Counts:
    done = await sync_payments(ctx.app)
    return {
        "candidates": len(done.candidates),
        "stale_by_events": done.stale_by_events,
        "applied": done.applied,
        "failed": done.failed,
    }


#: Every 30 minutes, leader only, as a job on ``remit_payment_sync``.
SYNC_TASK: PeriodicTask[PeriodicContext[Runtime]] = PeriodicTask(
    SYNC_TASK_NAME, Cron("*/30 * * * *"), sync_task, queue="remit_payment_sync"
)

__all__ = [
    "BY_TYPE",
    "KINDS",
    "SYNC_TASK",
    "SYNC_TASK_NAME",
    "Refetch",
    "SyncRun",
    "candidates",
    "sync_payments",
    "synthetic_event",
]
