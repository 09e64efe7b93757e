"""Finding stored webhook events: by status, type pattern and arrival time — the dead-letter queue's view.

A filter is a frozen value (:class:`EventFilter`) turned into one WHERE clause, shared by ``remit webhooks
list``, bulk replay and the internal API, so "what would be replayed" and "what is listed" never differ.
Type patterns are shell-style (``invoice.*``) and become a ``LIKE`` with the ``_`` and ``%`` of event types
escaped. :func:`audit_trail` reads back, for one event, what operators did to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit import audit
from remit.db.tables import webhook_events
from remit.webhooks import store
from remit.webhooks.events import EventStatus, WebhookEvent

LIKE_ESCAPE = "\\"


def glob_to_like(pattern: str) -> str:
    """``invoice.*`` → ``invoice.%``; ``?`` matches one character; LIKE's own wildcards are escaped (pure)."""
    out = []
    for char in pattern:
        if char in ("%", "_", LIKE_ESCAPE):
            out.append(LIKE_ESCAPE + char)
        elif char == "*":
            out.append("%")
        elif char == "?":
            out.append("_")
        else:
            out.append(char)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events: any of ``statuses`` (all when empty), ``type`` pattern, received at or after ``since``."""

    statuses: tuple[EventStatus, ...] = ()
    type_pattern: str | None = None
    since: datetime | None = None
    endpoint: str | None = None

    def where(self) -> list[Any]:
        clauses: list[Any] = []
        if self.statuses:
            clauses.append(webhook_events.c.status.in_(sorted(s.value for s in self.statuses)))
        if self.type_pattern:
            if any(char in self.type_pattern for char in "*?"):
                clauses.append(webhook_events.c.type.like(glob_to_like(self.type_pattern), escape=LIKE_ESCAPE))
            else:
                clauses.append(webhook_events.c.type == self.type_pattern)
        if self.since is not None:
            clauses.append(webhook_events.c.received_at >= self.since)
        if self.endpoint:
            clauses.append(webhook_events.c.endpoint == self.endpoint)
        return clauses

    def to_json(self) -> dict[str, Any]:
        return {
            "statuses": [s.value for s in self.statuses],
            "type": self.type_pattern,
            "since": self.since.isoformat() if self.since else None,
            "endpoint": self.endpoint,
        }


async def list_events(
    conn: AsyncConnection, event_filter: EventFilter, *, limit: int = 50, newest_first: bool = True
) -> list[WebhookEvent]:
    """Events matching ``event_filter`` (without bodies), newest first unless told otherwise."""
    order = (webhook_events.c.id.desc(),) if newest_first else (webhook_events.c.id.asc(),)
    stmt = sa.select(*store.META_COLUMNS).where(*event_filter.where()).order_by(*order).limit(limit)
    return [WebhookEvent.from_row(row) for row in (await conn.execute(stmt)).mappings()]


async def matching_ids(conn: AsyncConnection, event_filter: EventFilter, *, limit: int | None = None) -> list[int]:
    """Row ids matching ``event_filter``, oldest first (the order a replay follows)."""
    stmt = sa.select(webhook_events.c.id).where(*event_filter.where()).order_by(webhook_events.c.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [row[0] for row in await conn.execute(stmt)]


async def by_processor_event_ids(conn: AsyncConnection, event_ids: Sequence[str]) -> list[WebhookEvent]:
    """The stored events with these processor event ids (without bodies), oldest first; ids never stored
    are simply absent."""
    if not event_ids:
        return []
    stmt = (
        sa.select(*store.META_COLUMNS)
        .where(webhook_events.c.event_id.in_(list(event_ids)))
        .order_by(webhook_events.c.id)
    )
    return [WebhookEvent.from_row(row) for row in (await conn.execute(stmt)).mappings()]


async def count_by_status(conn: AsyncConnection, statuses: Sequence[EventStatus] = ()) -> dict[str, int]:
    """How many events are in each status (for ``remit doctor``, metrics and the admin page); only in
    ``statuses`` when given — the statuses an operator watches are a sliver of a table that is mostly
    ``processed``, which the status index then finds without reading the rest."""
    stmt = sa.select(webhook_events.c.status, sa.func.count()).group_by(webhook_events.c.status)
    if statuses:
        stmt = stmt.where(webhook_events.c.status.in_(sorted(s.value for s in statuses)))
    return {status: int(count) for status, count in await conn.execute(stmt)}


async def get_event(conn: AsyncConnection, event_row_id: int, *, with_body: bool = False) -> WebhookEvent | None:
    return await store.get(conn, event_row_id, with_body=with_body)


#: Audit subjects that can concern one event: its own (a single replay) and the bulk one, whose rows list the
#: ids they acted on in ``details["ids"]``.
EVENT_SUBJECT = "webhook_event:{id}"
BULK_SUBJECT = "webhook_events"


async def audit_trail(conn: AsyncConnection, event: WebhookEvent) -> list[dict[str, Any]]:
    """Who did what to ``event``, oldest first: each audit row about it alone, and each bulk row (a batch of
    a bulk replay) whose ids include it — ``at``, ``actor``, ``action`` and the details but the id list, so
    ``remit webhooks show`` answers "who replayed this, when, with which filter".

    The audit log holds operator actions only (a few rows per replay or prune), so the bulk rows are read and
    matched here rather than by a JSON query that would differ between SQLite and PostgreSQL.
    """
    own = EVENT_SUBJECT.format(id=event.id)
    trail = []
    for entry in await audit.entries(conn, subjects=[own, BULK_SUBJECT]):
        details = dict(entry.details)
        ids = details.pop("ids", None)
        if entry.subject != own and not (isinstance(ids, list) and event.id in ids):
            continue
        trail.append(
            {
                "at": entry.at.isoformat(),
                "actor": entry.actor,
                "action": entry.action,
                "bulk": entry.subject != own,
                "details": details,
            }
        )
    return trail


__all__ = [
    "BULK_SUBJECT",
    "EVENT_SUBJECT",
    "EventFilter",
    "audit_trail",
    "by_processor_event_ids",
    "count_by_status",
    "get_event",
    "glob_to_like",
    "list_events",
    "matching_ids",
]
