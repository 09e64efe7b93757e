"""The fee pass: read balance transactions by listing, a hundred per call, and record fees, drift and losses.

One pass (:func:`reconcile_fees`) covers the window from the oldest settled charge or refund without a
recorded fee (or ``since``) — and never less than ``REMIT_FEES_DRIFT_DAYS`` back, so changed numbers are seen —
up to ``REMIT_FEES_SETTLE_HOURS`` ago. It lists that window's balance transactions newest first, 100 per call
(``GET /v1/balance_transactions?created[gte]=…&created[lte]=…&limit=100``), never one retrieve per charge: a
pass over 100,000 charges is about 1,000 calls. Every ten pages (1,000 transactions, a bounded batch) are
written in one transaction of their own:
new fees recorded, drift recorded beside the updated row. After the listing, refunds recorded in the pass are
checked for revenue loss (:mod:`remit.money.losses`), once each.

The window is cut into ``REMIT_FEES_CONCURRENCY`` time slices listed side by side. A pass stops after
``REMIT_FEES_MAX_PAGES`` pages (the next one starts from what is still unrecorded) and, when
the processor answers 429, logs ``fee reconciliation throttled`` and stops: the next pass continues.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db.tables import charges, fee_drifts, fees, refunds
from remit.errors import ProcessorError
from remit.jobs.context import PeriodicContext
from remit.money.fees import FeeOutcome, Stored, Txn, decide
from remit.money.handlers import raise_loss
from remit.money.losses import Loss, refund_exceeds_net, refund_fee_loss
from remit.periodic import Counts, Cron, PeriodicTask
from remit.runtime import Runtime
from remit.telemetry import metrics

log = logging.getLogger("remit.money.fees")

FEE_TASK_NAME = "money.fee_reconcile"
PAGE_SIZE = 100
#: Transactions applied per database transaction: ten pages' worth, a bounded batch.
BATCH = 1000
SETTLED = {"succeeded"}


@dataclass
class FeePass:
    """What one pass did (or, dry, would do)."""

    since: datetime
    until: datetime
    dry_run: bool
    calls: int = 0
    seen: int = 0
    recorded: int = 0
    unchanged: int = 0
    drift: int = 0
    losses: int = 0
    throttled: bool = False
    complete: bool = True
    loss_reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "dry_run": self.dry_run,
            "processor_calls": self.calls,
            "transactions_seen": self.seen,
            "recorded": self.recorded,
            "unchanged": self.unchanged,
            "drift": self.drift,
            "revenue_losses": self.losses,
            "throttled": self.throttled,
            "complete": self.complete,
        }


def _unix(when: datetime) -> int:
    return int(when.timestamp())


async def oldest_unrecorded(conn: AsyncConnection, cutoff: datetime) -> datetime | None:
    """The creation time of the oldest settled charge or refund older than ``cutoff`` with no recorded fee."""
    oldest: list[datetime] = []
    for table in (charges, refunds):
        query = (
            sa.select(sa.func.min(table.c.created))
            .select_from(table.outerjoin(fees, fees.c.subject_id == table.c.stripe_id))
            .where(table.c.status.in_(SETTLED), table.c.created <= cutoff, fees.c.subject_id.is_(None))
        )
        value = (await conn.execute(query)).scalar_one_or_none()
        if value is not None:
            oldest.append(value)
    return min(oldest) if oldest else None


async def _window(runtime: Runtime, since: datetime | None, until: datetime | None = None) -> tuple[datetime, datetime]:
    settings, now = runtime.settings, runtime.clock.now()
    until = until or now - timedelta(hours=settings.fees_settle_hours)
    if since is not None:
        return since, until
    floor = now - timedelta(days=settings.fees_drift_days)
    async with runtime.db.connect() as conn:
        oldest = await oldest_unrecorded(conn, until)
    return (min(oldest, floor) if oldest else floor), until


async def _local(conn: AsyncConnection, txns: list[Txn]) -> tuple[dict[str, dict[str, Any]], dict[str, Stored]]:
    """The mirrored, settled subjects of ``txns`` and their stored fees: one query per subject type, the
    stored fee joined in."""
    subjects: dict[str, dict[str, Any]] = {}
    stored: dict[str, Stored] = {}
    for table, kind in ((charges, "charge"), (refunds, "refund")):
        ids = [txn.subject_id for txn in txns if txn.subject_type == kind]
        if not ids:
            continue
        charge_column = table.c.stripe_id if kind == "charge" else table.c.charge_id
        query = (
            sa.select(table.c.stripe_id, charge_column.label("charge_id"), fees.c.fee, fees.c.net)
            .select_from(table.outerjoin(fees, fees.c.subject_id == table.c.stripe_id))
            .where(table.c.stripe_id.in_(ids), table.c.status.in_(SETTLED))
        )
        for row in await conn.execute(query):
            subjects[row.stripe_id] = {"charge_id": row.charge_id}
            if row.fee is not None:
                stored[row.stripe_id] = Stored(int(row.fee), int(row.net))
    return subjects, stored


async def _apply_page(
    conn: AsyncConnection, txns: list[Txn], result: FeePass, now: datetime, refunds_seen: list[str]
) -> None:
    """Decide every transaction of the batch, then write the batch set-based: the new fees in one
    executemany insert, the drifts in one executemany insert and one executemany update — a few statements
    per thousand transactions, never one per row. (A multi-row ``VALUES`` statement costs more: SQLAlchemy
    compiles it afresh for every batch.)"""
    subjects, stored = await _local(conn, txns)
    inserts: list[dict[str, Any]] = []
    drifts: list[dict[str, Any]] = []
    for txn in txns:
        subject = subjects.get(txn.subject_id)
        if subject is None:
            continue  # not mirrored, or not settled: a later pass records it
        outcome = decide(txn, stored.get(txn.subject_id))
        metrics.fee_transactions_total.labels(outcome=outcome.value).inc()
        if outcome is FeeOutcome.UNCHANGED:
            result.unchanged += 1
            continue
        if outcome is FeeOutcome.RECORD:
            result.recorded += 1
            if txn.subject_type == "refund":
                refunds_seen.append(txn.subject_id)
            inserts.append(
                {
                    "subject_id": txn.subject_id,
                    "subject_type": txn.subject_type,
                    "charge_id": subject["charge_id"],
                    "balance_transaction_id": txn.id,
                    "currency": txn.currency,
                    "amount": txn.amount,
                    "fee": txn.fee,
                    "net": txn.net,
                    "recorded_at": now,
                    "drift_count": 0,
                    "drifted_at": None,
                }
            )
            continue
        result.drift += 1
        old = stored[txn.subject_id]
        log.info("fee drift", extra={"object_id": txn.subject_id, "old_fee": old.fee, "new_fee": txn.fee})
        drifts.append(
            {
                "subject_id": txn.subject_id,
                "balance_transaction_id": txn.id,
                "old_fee": old.fee,
                "new_fee": txn.fee,
                "old_net": old.net,
                "new_net": txn.net,
                "detected_at": now,
            }
        )
    if result.dry_run:
        return
    if inserts:
        await conn.execute(sa.insert(fees), inserts)
    if drifts:
        await conn.execute(sa.insert(fee_drifts), drifts)
        await conn.execute(
            sa.update(fees)
            .where(fees.c.subject_id == sa.bindparam("b_subject"))
            .values(
                fee=sa.bindparam("b_fee"),
                net=sa.bindparam("b_net"),
                drift_count=fees.c.drift_count + 1,
                drifted_at=now,
            ),
            [{"b_subject": d["subject_id"], "b_fee": d["new_fee"], "b_net": d["new_net"]} for d in drifts],
        )


async def refund_losses(conn: AsyncConnection, refund_ids: Iterable[str]) -> list[Loss]:
    """Revenue lost by these recorded refunds: a fee kept on a refund, refunds beyond the charge's net."""
    ids = list(refund_ids)
    if not ids:
        return []
    refund_rows = (
        await conn.execute(sa.select(fees).where(fees.c.subject_id.in_(ids), fees.c.subject_type == "refund"))
    ).mappings()
    by_charge: dict[str, list[Any]] = {}
    for row in refund_rows:
        if row["charge_id"]:
            by_charge.setdefault(row["charge_id"], []).append(row)
    if not by_charge:
        return []
    charge_rows = {
        row["subject_id"]: row
        for row in (await conn.execute(sa.select(fees).where(fees.c.subject_id.in_(list(by_charge))))).mappings()
    }
    # What the charge's refunds took out of the balance: their net, so a fee the processor returned with a
    # refund is taken off (the amount refunded alone would call a refund that cost nothing beyond the net a loss).
    all_refunds = (
        await conn.execute(
            sa.select(fees.c.charge_id, sa.func.sum(fees.c.net))
            .where(fees.c.charge_id.in_(list(by_charge)), fees.c.subject_type == "refund")
            .group_by(fees.c.charge_id)
        )
    ).all()
    refunded = {row[0]: -int(row[1] or 0) for row in all_refunds}
    losses: list[Loss] = []
    for charge_id, rows in by_charge.items():
        charge = charge_rows.get(charge_id)
        if charge is None:
            continue  # the charge's own fee is not recorded yet: the pass that records it decides
        for row in rows:
            loss = refund_fee_loss(
                row["subject_id"],
                charge_id,
                -int(row["amount"]),
                int(row["fee"]),
                int(charge["amount"]),
                int(charge["fee"]),
                row["currency"],
            )
            if loss is not None:
                losses.append(loss)
        excess = refund_exceeds_net(charge_id, refunded.get(charge_id, 0), int(charge["net"]), charge["currency"], None)
        if excess is not None:
            losses.append(excess)
    return losses


def slices(start: int, until: int, count: int) -> list[tuple[int, int]]:
    """``[start, until]`` (Unix seconds, both included) cut into at most ``count`` adjoining ranges."""
    if until < start:
        return []
    count = max(1, min(count, until - start + 1))
    step = (until - start + 1) / count
    edges = [start + round(step * n) for n in range(count)] + [until + 1]
    return [(low, high - 1) for low, high in itertools.pairwise(edges) if high > low]


async def _list_slice(
    runtime: Runtime, low: int, high: int, pages: int, result: FeePass, refunds_seen: list[str]
) -> None:
    """List one time slice page by page, applying every :data:`BATCH` transactions in a transaction of their
    own (and what is left at the end, or when the listing stops)."""
    pending: list[Txn] = []

    async def flush() -> None:
        if pending:
            async with runtime.db.begin() as conn:
                await _apply_page(conn, pending, result, runtime.clock.now(), refunds_seen)
            pending.clear()

    try:
        await _pages(runtime, low, high, pages, result, pending, flush)
    finally:
        await flush()


async def _pages(
    runtime: Runtime,
    low: int,
    high: int,
    pages: int,
    result: FeePass,
    pending: list[Txn],
    flush: Callable[[], Awaitable[None]],
) -> None:
    cursor: str | None = None
    processor = runtime.processor
    for _ in range(pages):
        if result.throttled:
            return
        try:
            page = await processor.list_balance_transactions(
                created_gte=low, created_lte=high, limit=PAGE_SIZE, starting_after=cursor
            )
        except ProcessorError as error:
            if error.status_code != 429:
                raise
            result.throttled, result.complete = True, False
            log.warning("fee reconciliation throttled", extra={"retry_after": error.retry_after, "pages": result.calls})
            return
        finally:
            result.calls += 1
            metrics.fee_processor_calls_total.inc()
        data = [item for item in page.get("data") or () if isinstance(item, dict)]
        result.seen += len(data)
        pending.extend(txn for txn in (Txn.parse(item) for item in data) if txn is not None)
        if len(pending) >= BATCH:
            await flush()
        if not page.get("has_more") or not data:
            return
        cursor = str(data[-1]["id"])
    result.complete = False  # out of pages: the next pass continues from what is still unrecorded


async def reconcile_fees(
    runtime: Runtime,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    dry_run: bool = False,
    max_pages: int | None = None,
    concurrency: int | None = None,
) -> FeePass:
    """One fee pass (see the module docs); ``dry_run`` reads and decides, and writes and emits nothing.
    ``until`` moves the window's end (default: ``REMIT_FEES_SETTLE_HOURS`` ago) — later for a processor that
    settles at once, such as the fake in ``remit demo``.

    The window is cut into ``REMIT_FEES_CONCURRENCY`` time slices listed side by side: the calls are as many
    as one listing would make (plus one per slice), the wall time a fraction of it. ``concurrency`` overrides
    that setting (``remit demo`` lists its few charges in one slice)."""
    start, until = await _window(runtime, since, until)
    result = FeePass(start, until, dry_run)
    parts = slices(_unix(start), _unix(until), concurrency or runtime.settings.fees_concurrency)
    pages = max(1, (max_pages or runtime.settings.fees_max_pages) // max(len(parts), 1))
    refunds_seen: list[str] = []
    await asyncio.gather(*(_list_slice(runtime, low, high, pages, result, refunds_seen) for low, high in parts))
    if dry_run or not refunds_seen:
        return result
    async with runtime.db.begin() as conn:
        for loss in await refund_losses(conn, refunds_seen):
            if await raise_loss(conn, loss, runtime.clock.now()):
                result.losses += 1
                result.loss_reasons.append(loss.reason.value)
    return result


async def fee_task(ctx: PeriodicContext[Runtime]) -> Counts:
    done = await reconcile_fees(ctx.app)
    return {
        "calls": done.calls,
        "recorded": done.recorded,
        "unchanged": done.unchanged,
        "drift": done.drift,
        "losses": done.losses,
    }


#: Daily at 04:30, leader only, as a job on ``remit_reconcilers``.
FEE_TASK: PeriodicTask[PeriodicContext[Runtime]] = PeriodicTask(
    FEE_TASK_NAME, Cron("30 4 * * *"), fee_task, queue="remit_reconcilers"
)

__all__ = [
    "FEE_TASK",
    "FEE_TASK_NAME",
    "PAGE_SIZE",
    "FeePass",
    "oldest_unrecorded",
    "reconcile_fees",
    "refund_losses",
    "slices",
]
