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

A 429 ends the run with the log line ``payment sync throttled`` (the next run continues); any other error on
one object is counted ``failed`` and the run goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from remit.billing.projection import ApplyStatus, apply_event
from remit.db.tables import charges, invoices, subscriptions
from remit.errors import ProcessorError
from remit.jobs.context import PeriodicContext
from remit.money.dunning import follow_subscription
from remit.periodic import Counts, Cron, PeriodicTask
from remit.processor.base import Processor, StripeObject
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


@dataclass
class SyncRun:
    dry_run: bool
    candidates: list[tuple[str, str]] = field(default_factory=list)
    applied: int = 0
    unchanged: int = 0
    failed: int = 0
    throttled: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "candidates": len(self.candidates),
            "objects": [{"object_type": kind, "id": object_id} for kind, object_id in self.candidates],
            "applied": self.applied,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "throttled": self.throttled,
        }


async def candidates(runtime: Runtime, *, since: datetime | None, limit: int) -> list[tuple[str, str]]:
    """``(object type, id)`` to re-fetch, oldest update first, at most ``limit``."""
    return [(object_type, object_id) for object_type, object_id, _ in await _candidates(runtime, since, limit)]


async def _candidates(runtime: Runtime, since: datetime | None, limit: int) -> list[tuple[str, str, datetime]]:
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
    return [(object_type, object_id, mark) for _, object_type, object_id, mark in found[:limit]]


async def _fetch(processor: Processor, object_type: str, object_id: str) -> StripeObject:
    if object_type == "charge":
        return await processor.retrieve_charge(object_id)
    if object_type == "invoice":
        return await processor.retrieve_invoice(object_id)
    return await processor.retrieve_subscription(object_id)


def synthetic_event(kind: SyncKind, obj: StripeObject, fetched_at: datetime, stored: datetime) -> dict[str, Any]:
    """The fetched object as the event a webhook would have carried, stamped with the fetch time or one second
    past the stored watermark, whichever is later."""
    stamp = max(int(fetched_at.timestamp()), int(stored.timestamp()) + 1)
    return {
        "id": f"evt_remit_sync_{obj.get('id')}_{stamp}",
        "object": "event",
        "type": kind.event_type,
        "created": stamp,
        "livemode": bool(obj.get("livemode")),
        "data": {"object": obj},
    }


async def sync_payments(
    runtime: Runtime, *, since: datetime | None = None, dry_run: bool = False, limit: int | None = None
) -> SyncRun:
    """One payment sync run (see the module docs)."""
    run = SyncRun(dry_run)
    found = await _candidates(runtime, since, limit or runtime.settings.payment_sync_batch)
    run.candidates = [(object_type, object_id) for object_type, object_id, _ in found]
    if dry_run:
        return run
    by_type = {kind.object_type: kind for kind in KINDS}
    for object_type, object_id, stored in found:
        kind = by_type[object_type]
        try:
            obj = await _fetch(runtime.processor, object_type, object_id)
        except ProcessorError as error:
            if error.status_code == 429:
                run.throttled = True
                log.warning("payment sync throttled", extra={"retry_after": error.retry_after, "done": run.applied})
                break
            run.failed += 1
            metrics.payment_sync_objects_total.labels(object_type=object_type, outcome="failed").inc()
            log.warning(
                "payment sync fetch failed",
                extra={"object_type": object_type, "object_id": object_id, "status_code": error.status_code},
            )
            continue
        event = synthetic_event(kind, obj, runtime.clock.now(), stored)
        async with runtime.db.begin() as conn:
            result = await apply_event(conn, runtime, event)
            applied = result.status in (ApplyStatus.APPLIED, ApplyStatus.DELETED)
            if applied and object_type == "subscription":
                await follow_subscription(runtime, conn, event, event_id=None, processor_event_id=str(event["id"]))
        outcome = "applied" if applied else "unchanged"
        setattr(run, outcome, getattr(run, outcome) + 1)
        metrics.payment_sync_objects_total.labels(object_type=object_type, outcome=outcome).inc()
    return run


async def sync_task(ctx: PeriodicContext[Runtime]) -> Counts:
    done = await sync_payments(ctx.app)
    return {"candidates": len(done.candidates), "applied": done.applied, "failed": done.failed}


#: Every 30 minutes, leader only, as a job on ``remit_payment_sync``.
SYNC_TASK: PeriodicTask[PeriodicContext[Runtime]] = PeriodicTask(
    SYNC_TASK_NAME, Cron("*/30 * * * *"), sync_task, queue="remit_payment_sync"
)

__all__ = ["KINDS", "SYNC_TASK", "SYNC_TASK_NAME", "SyncRun", "candidates", "sync_payments", "synthetic_event"]
