"""The append-only ledger of billing events.

One row per billing event, never changed afterwards: the migrations install triggers on PostgreSQL and SQLite
that refuse every ``UPDATE`` and ``DELETE`` on this table (and ``TRUNCATE`` on PostgreSQL, which row triggers
do not see), so a bug (or an operator's stray SQL) cannot rewrite history. ``idempotency_key`` is unique so a
retried write is an ``ON CONFLICT DO NOTHING``. ``data`` holds identifiers and amounts only, never customer PII
(see :mod:`remit.ledger`).
"""

from sqlalchemy import Column, Index, Integer, String, Table, UniqueConstraint

from remit.db.tables.base import metadata
from remit.db.types import BigId, Json, UtcDateTime

ledger_events = Table(
    "remit_ledger_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("type", String(100), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("subject", String(255), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("data", Json, nullable=False),
    Column("idempotency_key", String(255), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    UniqueConstraint("idempotency_key"),
)
Index("ix_remit_ledger_events_subject_id", ledger_events.c.subject, ledger_events.c.id)
Index("ix_remit_ledger_events_type_id", ledger_events.c.type, ledger_events.c.id)
Index("ix_remit_ledger_events_recorded_at", ledger_events.c.recorded_at)

__all__ = ["ledger_events"]
