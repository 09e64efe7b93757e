"""Payment sync's read of the processor's event stream: which mirrored objects changed at the processor after
the mirror's last write, whether or not their webhook arrived.

A lost webhook on a row that looks final (an ``active`` subscription cancelled at the processor, a ``paid``
invoice voided, a charge refunded) is never stuck in a non-final state, so only the processor can say it is
stale. Each pass lists ``GET /v1/events`` of :data:`EVENT_TYPES` created since its cursor (less an overlap, for
events listed late), newest first, 100 a page, at most ``REMIT_PAYMENT_SYNC_EVENT_PAGES`` pages. Every event is
routed as the webhook path routes it (:func:`remit.billing.routing.route`), so its watermark is exactly the one
its webhook would have written; an object whose newest event's watermark is greater than the mirror row's (or
that has no row) is stale and re-fetched by :mod:`remit.money.sync`.

The cursor (:class:`Cursor`, one row of ``remit_payment_sync_cursors``) keeps where the read got to, durably, so
a missed pass catches up. The list is newest first, so a backlog larger than one pass is read downwards: the pass
keeps ``backlog_until`` (the oldest time it reached) and ``backlog_after`` (the last event it read), and the next
continues the same list from that event (``starting_after``), until the window is done and the cursor moves to
the newest time read. Continuing from the event, not from its second, matters because ``created`` is whole
seconds: a second holding more events than one pass reads is read to its end over passes, never stepped past
(which would skip its unread events). The first pass starts ``REMIT_PAYMENT_SYNC_EVENTS_WINDOW_HOURS`` back.
The decisions here (:func:`read_window`, :func:`newest_per_object`, :func:`stale_objects`, :func:`advance`) are
pure; :func:`read_events`, :func:`stored_watermarks`, :func:`load_cursor` and :func:`save_cursor` do the I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.billing.routing import DELETING_EVENT_TYPES, MalformedEvent, Target, route
from remit.billing.watermark import Watermark
from remit.db import dialect
from remit.db.tables import charges, invoices, payment_sync_cursors, subscriptions
from remit.processor.base import Processor, StripeObject

#: The event types whose object payment sync mirrors (a charge, an invoice, a subscription) and that change its
#: state: exact names, because Stripe's ``types[]`` takes at most 20 names and no wildcard.
EVENT_TYPES: tuple[str, ...] = (
    "charge.captured",
    "charge.expired",
    "charge.failed",
    "charge.pending",
    "charge.refunded",
    "charge.succeeded",
    "charge.updated",
    "invoice.created",
    "invoice.deleted",
    "invoice.finalized",
    "invoice.marked_uncollectible",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.updated",
    "invoice.voided",
    "customer.subscription.created",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "customer.subscription.updated",
)
#: The mirror table of each object type payment sync re-fetches.
TABLES: dict[str, sa.Table] = {"charge": charges, "invoice": invoices, "subscription": subscriptions}
PAGE_SIZE = 100
CURSOR_NAME = "events"
#: Ids per ``IN (…)`` when reading the mirror's watermarks.
CHUNK = 500

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Cursor:
    """Every event created up to ``since`` has been judged; ``backlog_until``/``backlog_after``/``backlog_newest``
    while a window larger than one pass is read downwards (see the module docs)."""

    since: datetime
    backlog_until: datetime | None = None
    backlog_newest: datetime | None = None
    backlog_after: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "backlog_until": self.backlog_until.isoformat() if self.backlog_until else None,
            "backlog_after": self.backlog_after,
        }


@dataclass(frozen=True, slots=True)
class Newest:
    """An object's newest listed event: its watermark, whether it deletes the object, and its type."""

    watermark: Watermark
    deleting: bool
    event_type: str


@dataclass(frozen=True, slots=True)
class EventRead:
    """What one pass read: the events, whether the window was read to its end, and the calls it took."""

    events: list[StripeObject]
    complete: bool
    calls: int


def read_window(cursor: Cursor, overlap: timedelta) -> tuple[int, int | None]:
    """The ``created[gte]`` and ``created[lte]`` (Unix seconds) of this pass's list."""
    gte = int((cursor.since - overlap).timestamp())
    lte = int(cursor.backlog_until.timestamp()) if cursor.backlog_until else None
    return gte, lte


def _seconds(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def advance(cursor: Cursor, events: Sequence[Mapping[str, Any]], *, complete: bool) -> Cursor:
    """The cursor after a pass that read ``events``, newest first (``complete``: down to the window's start).

    An incomplete pass keeps its last event's id and second: the next continues the list after that event, so
    however many events share a second, none of them is skipped and the read still moves on every pass."""
    times = [int(event["created"]) for event in events if isinstance(event.get("created"), int)]
    newest = _seconds(max(times)) if times else None
    reached = max((t for t in (cursor.backlog_newest, newest) if t is not None), default=None)
    if complete:
        return Cursor(since=max(cursor.since, reached) if reached else cursor.since)
    last = events[-1] if events else {}
    last_id, last_created = last.get("id"), last.get("created")
    if not isinstance(last_id, str) or not isinstance(last_created, int):
        return cursor  # nothing to continue from (a pass stops early only after a full page): read it again
    return Cursor(
        since=cursor.since, backlog_until=_seconds(last_created), backlog_newest=reached, backlog_after=last_id
    )


def newest_per_object(events: Iterable[Mapping[str, Any]]) -> dict[Key, Newest]:
    """Each synced object's newest event by the mirror's own watermark rule; other objects are left out."""
    found: dict[Key, Newest] = {}
    for event in events:
        try:
            routed = route(event)
        except MalformedEvent:
            continue
        if not isinstance(routed, Target) or routed.kind.name not in TABLES:
            continue
        key = (routed.kind.name, routed.stripe_id)
        current = found.get(key)
        if current is None or routed.watermark > current.watermark:
            event_type = str(event.get("type") or "")
            found[key] = Newest(routed.watermark, event_type in DELETING_EVENT_TYPES, event_type)
    return found


def stale_objects(newest: Mapping[Key, Newest], stored: Mapping[Key, Watermark]) -> list[Key]:
    """The objects whose newest event is newer than the mirror's row (or that have none), oldest event first."""
    stale = [key for key, seen in newest.items() if seen.watermark.is_newer_than(stored.get(key))]
    return sorted(stale, key=lambda key: newest[key].watermark)


async def read_events(
    processor: Processor, gte: int, lte: int | None, *, after: str | None = None, max_pages: int
) -> EventRead:
    """Up to ``max_pages`` pages of the window, newest first, from just after the event ``after`` (a backlog's
    ``backlog_after``) when given; a :class:`~remit.errors.ProcessorError` propagates and the caller keeps its
    cursor."""
    events: list[StripeObject] = []
    for calls in range(1, max_pages + 1):
        page = await processor.list_events(
            types=EVENT_TYPES, created_gte=gte, created_lte=lte, limit=PAGE_SIZE, starting_after=after
        )
        data = [item for item in page.get("data") or [] if isinstance(item, dict)]
        events.extend(data)
        last = data[-1].get("id") if data else None
        if not page.get("has_more") or not isinstance(last, str):
            return EventRead(events, True, calls)
        after = last
    return EventRead(events, False, max_pages)


async def stored_watermarks(conn: AsyncConnection, keys: Iterable[Key]) -> dict[Key, Watermark]:
    """The mirror's watermark of each of ``keys`` that has a row."""
    by_type: dict[str, list[str]] = {}
    for object_type, object_id in keys:
        by_type.setdefault(object_type, []).append(object_id)
    found: dict[Key, Watermark] = {}
    for object_type, ids in by_type.items():
        table = TABLES[object_type]
        for start in range(0, len(ids), CHUNK):
            query = sa.select(
                table.c.stripe_id,
                table.c.watermark_created,
                table.c.watermark_hint,
                table.c.watermark_phase,
                table.c.watermark_event_id,
            ).where(table.c.stripe_id.in_(ids[start : start + CHUNK]))
            for row in (await conn.execute(query)).mappings():
                found[(object_type, row["stripe_id"])] = Watermark.from_row(row)
    return found


async def load_cursor(conn: AsyncConnection, *, now: datetime, window: timedelta) -> Cursor:
    """The stored cursor, or the first pass's: ``window`` back from ``now``."""
    row = (
        (await conn.execute(sa.select(payment_sync_cursors).where(payment_sync_cursors.c.name == CURSOR_NAME)))
        .mappings()
        .first()
    )
    if row is None:
        return Cursor(since=now - window)
    return Cursor(row["since"], row["backlog_until"], row["backlog_newest"], row["backlog_after"])


async def save_cursor(conn: AsyncConnection, cursor: Cursor, *, now: datetime) -> None:
    values = {
        "since": cursor.since,
        "backlog_until": cursor.backlog_until,
        "backlog_newest": cursor.backlog_newest,
        "backlog_after": cursor.backlog_after,
        "updated_at": now,
    }
    stmt = dialect.insert(conn, payment_sync_cursors).values(name=CURSOR_NAME, **values)
    await conn.execute(stmt.on_conflict_do_update(index_elements=[payment_sync_cursors.c.name], set_=values))


__all__ = [
    "EVENT_TYPES",
    "Cursor",
    "EventRead",
    "Newest",
    "advance",
    "load_cursor",
    "newest_per_object",
    "read_events",
    "read_window",
    "save_cursor",
    "stale_objects",
    "stored_watermarks",
]
