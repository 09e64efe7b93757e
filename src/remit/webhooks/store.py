"""Every statement on ``remit_webhook_events`` that changes an event's status, in one place.

Each status change is an UPDATE built by the event state machine
(:data:`~remit.webhooks.events.EVENT_STATES`), guarded by the statuses its table allows as the source,
returning the row it changed, so a caller learns in the same round trip whether it won and what the row now
holds. The dispatch hot path's two statements are built once from the same table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db.tables import webhook_events
from remit.webhooks.events import EVENT_STATES, EventStatus, WebhookEvent, check_transition, source_values

#: Every column but the raw body: what listings and status changes return.
META_COLUMNS = [column for column in webhook_events.c if column.name != "body"]


async def get(conn: AsyncConnection, event_row_id: int, *, with_body: bool = False) -> WebhookEvent | None:
    columns = list(webhook_events.c) if with_body else META_COLUMNS
    stmt = sa.select(*columns).where(webhook_events.c.id == event_row_id)
    row = (await conn.execute(stmt)).mappings().first()
    return WebhookEvent.from_row(row) if row else None


async def move(
    conn: AsyncConnection,
    event_row_id: int,
    target: EventStatus,
    *,
    only_from: Sequence[EventStatus] | None = None,
    with_body: bool = False,
    **values: Any,
) -> WebhookEvent | None:
    """Move one event to ``target`` (setting ``values`` too) if its status allows; the updated event, or
    None when the guard matched nothing (gone, or in a status that cannot move there)."""
    columns = list(webhook_events.c) if with_body else META_COLUMNS
    stmt = EVENT_STATES.update(
        webhook_events, target, webhook_events.c.id == event_row_id, only_from=only_from, column="status", **values
    ).returning(*columns)
    row = (await conn.execute(stmt)).mappings().first()
    return WebhookEvent.from_row(row) if row else None


@cache
def _start_statement() -> Any:
    """Built once: constructing a statement costs more CPU than executing the cached compiled form."""
    return (
        sa.update(webhook_events)
        .where(
            webhook_events.c.id == sa.bindparam("row_id"),
            webhook_events.c.status.in_(source_values(EventStatus.PROCESSING)),
        )
        .values(status=EventStatus.PROCESSING.value, attempts=webhook_events.c.attempts + 1)
        .returning(*webhook_events.c)
    )


@cache
def _results_statement(processed: bool) -> Any:
    values: dict[str, Any] = {"handler_results": sa.bindparam("results", type_=webhook_events.c.handler_results.type)}
    if processed:
        check_transition(EventStatus.PROCESSING, EventStatus.PROCESSED)
        values.update(
            status=EventStatus.PROCESSED.value,
            processed_at=sa.bindparam("processed_at", type_=webhook_events.c.processed_at.type),
        )
    return (
        sa.update(webhook_events)
        .where(webhook_events.c.id == sa.bindparam("row_id"), webhook_events.c.status == EventStatus.PROCESSING.value)
        .values(**values)
    )


async def start_attempt(conn: AsyncConnection, event_row_id: int) -> WebhookEvent | None:
    """Mark the event ``processing`` and count the attempt; the event with its body, or None when it is not
    in a status a dispatch may start from (already processed, held, dead, or pruned)."""
    row = (await conn.execute(_start_statement(), {"row_id": event_row_id})).mappings().first()
    return WebhookEvent.from_row(row) if row else None


async def record_results(
    conn: AsyncConnection, event_row_id: int, results: dict[str, Any], *, processed_at: datetime | None
) -> bool:
    """Store the handler results of a ``processing`` event; with ``processed_at``, also mark it processed.
    False when the event is no longer processing (its work must then be rolled back)."""
    params: dict[str, Any] = {"row_id": event_row_id, "results": results}
    if processed_at is not None:
        params["processed_at"] = processed_at
    return (await conn.execute(_results_statement(processed_at is not None), params)).rowcount == 1


async def move_many(
    conn: AsyncConnection,
    event_row_ids: Sequence[int],
    target: EventStatus,
    *,
    only_from: Sequence[EventStatus] | None = None,
    **values: Any,
) -> list[int]:
    """Move several events to ``target`` where their status allows (and is one of ``only_from``, when
    given); the ids that moved."""
    if not event_row_ids:
        return []
    stmt = EVENT_STATES.update(
        webhook_events,
        target,
        webhook_events.c.id.in_(list(event_row_ids)),
        only_from=only_from,
        column="status",
        **values,
    ).returning(webhook_events.c.id)
    return sorted(row[0] for row in await conn.execute(stmt))


__all__ = ["META_COLUMNS", "get", "move", "move_many", "record_results", "start_attempt"]
