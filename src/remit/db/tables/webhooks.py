"""The webhook event store: every event a processor delivered, once, with its raw body and dispatch status.

One row per (processor, event id), enforced by a unique constraint so a redelivery is an ``ON CONFLICT DO
NOTHING``, never a check-then-insert. The raw body is kept verbatim (as text) for replay; it is never logged
and only shown by ``remit webhooks show --body``.
"""

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text, UniqueConstraint

from remit.db.tables.base import metadata
from remit.db.types import BigId, Json, UtcDateTime

webhook_events = Table(
    "remit_webhook_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("endpoint", String(64), nullable=False),
    Column("processor", String(32), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("type", String(200), nullable=False),
    Column("livemode", Boolean, nullable=False),
    Column("api_version", String(64), nullable=True),
    Column("account", String(255), nullable=True),
    Column("status", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("object_id", String(255), nullable=True),
    Column("object_type", String(64), nullable=True),
    Column("event_created_at", UtcDateTime, nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Json, nullable=True),
    Column("handler_results", Json, nullable=False),
    Column("processed_at", UtcDateTime, nullable=True),
    Column("dead_at", UtcDateTime, nullable=True),
    UniqueConstraint("processor", "event_id"),
)
Index("ix_remit_webhook_events_status_received_at", webhook_events.c.status, webhook_events.c.received_at)
Index("ix_remit_webhook_events_object_id", webhook_events.c.object_id)

__all__ = ["webhook_events"]
