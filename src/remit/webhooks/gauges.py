"""The webhook part's scrape-time gauges: the backlog by status and type, its age, and the newest dead letter.

Read from the database before each ``GET /metrics`` (the part's collector, see
:mod:`remit.telemetry.collectors`), so every ``remit serve`` reports the same numbers whichever process
stored or dispatched the events. Processed events — the bulk of the table — are not counted: every query here
reads the ``(status, received_at)`` index for the statuses that still need something, so a scrape costs the
same with a million processed events as with none.

The ``type`` label takes the event types remit subscribes to (:func:`label_types`) and ``other`` for anything
else, so the label set is fixed by remit's code, not by what arrives.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from remit.db.tables import webhook_events
from remit.handlers import EventHandler
from remit.runtime import Runtime
from remit.telemetry import metrics
from remit.webhooks.event_types import HANDLED_EVENT_TYPES
from remit.webhooks.events import EventStatus

#: The statuses the gauges count: everything but ``processed``.
COUNTED = tuple(status for status in EventStatus if status is not EventStatus.PROCESSED)
#: The statuses of an event still waiting for its handlers (the backlog whose age is reported).
PENDING = (EventStatus.RECEIVED, EventStatus.PROCESSING, EventStatus.FAILED)
OTHER_TYPE = "other"


def label_types(handlers: Iterable[EventHandler]) -> frozenset[str]:
    """The event types that get their own label value: those the mirror projects and those a handler names
    exactly (a pattern such as ``invoice.*`` adds nothing) (pure)."""
    exact = {pattern for handler in handlers for pattern in handler.patterns if not any(c in pattern for c in "*?[")}
    return frozenset(HANDLED_EVENT_TYPES) | exact


def type_label(event_type: str, known: frozenset[str]) -> str:
    return event_type if event_type in known else OTHER_TYPE


async def webhook_gauges(runtime: Runtime) -> None:
    """Set ``remit_webhook_events``, ``remit_webhook_oldest_pending_age_seconds`` and
    ``remit_webhook_last_dead_letter_timestamp_seconds`` from the database."""
    counted = [status.value for status in COUNTED]
    pending = [status.value for status in PENDING]
    async with runtime.db.read() as conn:
        rows = await conn.execute(
            sa.select(webhook_events.c.status, webhook_events.c.type, sa.func.count())
            .where(webhook_events.c.status.in_(counted))
            .group_by(webhook_events.c.status, webhook_events.c.type)
        )
        counts = [(status, event_type, int(n)) for status, event_type, n in rows]
        oldest = (
            await conn.execute(
                sa.select(sa.func.min(webhook_events.c.received_at)).where(webhook_events.c.status.in_(pending))
            )
        ).scalar_one_or_none()
        newest_dead = (
            await conn.execute(
                sa.select(sa.func.max(webhook_events.c.dead_at)).where(
                    webhook_events.c.status == EventStatus.DEAD.value
                )
            )
        ).scalar_one_or_none()
    known = label_types(runtime.handlers)
    totals: dict[tuple[str, str], int] = {}
    for status, event_type, n in counts:
        key = (status, type_label(event_type, known))
        totals[key] = totals.get(key, 0) + n
    now = runtime.clock.now()
    metrics.webhook_events.clear()
    for status in counted:  # every status is exported, so a query for one never comes back empty
        metrics.webhook_events.labels(status=status, type=OTHER_TYPE).set(0)
    for (status, label), n in totals.items():
        metrics.webhook_events.labels(status=status, type=label).set(n)
    metrics.webhook_oldest_pending_age_seconds.set(_age(oldest, now))
    metrics.webhook_last_dead_letter_timestamp_seconds.set(_stamp(newest_dead))


def _age(first: datetime | None, now: datetime) -> float:
    """Seconds from ``first`` (an aware UTC datetime: min() keeps the column's type) to ``now``; 0 for none."""
    return 0.0 if first is None else max(0.0, (now - first).total_seconds())


def _stamp(value: datetime | None) -> float:
    return 0.0 if value is None else value.timestamp()


__all__ = ["COUNTED", "OTHER_TYPE", "PENDING", "label_types", "type_label", "webhook_gauges"]
