"""Runtime flags and the emergency stop: switches every process reads from the database (:mod:`remit.flags`)."""

from sqlalchemy import Boolean, Column, String, Table

from remit.db.tables.base import metadata
from remit.db.types import Json, UtcDateTime

#: One row per switch an operator has set: a flag (``billing``, ``origin_guard``) or the emergency stop
#: (``emergency_stop``, whose ``details`` name the queues it paused). No row: the flag's environment value.
flags = Table(
    "remit_flags",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("details", Json, nullable=True),
)
