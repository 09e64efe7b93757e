"""The operator audit trail: who did what, when (:mod:`remit.audit` writes and reads it)."""

from sqlalchemy import Column, Index, String, Table, Text

from remit.db.tables.base import metadata
from remit.db.types import BigId, Json, UtcDateTime

audit_log = Table(
    "remit_audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column("subject", String(255), nullable=True),
    Column("details", Json, nullable=False),
    Column("note", Text, nullable=True),
)
Index("ix_remit_audit_log_at", audit_log.c.at)
