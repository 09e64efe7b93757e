"""The newest ops events, kept for the admin overview (:mod:`remit.control.recent` writes and reads it).

A bounded list, not a history: each write deletes what lies more than ``KEEP`` ids behind it, so the table
stays a few hundred rows whatever happens. The metadata is what :func:`remit.telemetry.ops.emit` kept
(allow-listed identifiers, codes and counts).
"""

from sqlalchemy import Column, String, Table

from remit.db.tables.base import metadata
from remit.db.types import BigId, Json, UtcDateTime

ops_events = Table(
    "remit_ops_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("emitted_at", UtcDateTime, nullable=False),
    Column("metadata", Json, nullable=False),
)
