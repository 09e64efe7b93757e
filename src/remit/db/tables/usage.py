"""Usage metering: the meter events a host reported, their rollups, and the rollup's watermark.

``remit_meter_events`` holds one row per usage record, unique on the caller's ``operation_id`` (a repeat
inserts nothing and returns the stored row). ``value`` is a whole number of the meter's smallest unit
(``value * 10^decimals``), so sums are exact on both databases. ``hour`` is the UTC hour the usage happened
in, computed once at insert, so a rollup groups on a stored column. ``state`` follows
:data:`remit.usage.records.METER_EVENT_STATES`.

``remit_usage_rollups`` is usage per customer, meter, resolution (``hourly``/``daily``) and period start,
and ``remit_usage_watermarks`` the last meter-event id the incremental rollup has counted: every event with
an id at or below it is in the rollups exactly once.
"""

from sqlalchemy import BigInteger, Column, Index, Integer, PrimaryKeyConstraint, String, Table, UniqueConstraint

from remit.db.tables.base import metadata
from remit.db.types import BigId, UtcDateTime

meter_events = Table(
    "remit_meter_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("operation_id", String(255), nullable=False),
    Column("customer_id", String(255), nullable=False),
    Column("meter", String(64), nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("hour", UtcDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error_code", String(64), nullable=True),
    Column("failed_source", String(16), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("reported_at", UtcDateTime, nullable=True),
    UniqueConstraint("operation_id"),
)
Index("ix_remit_meter_events_state_created_at", meter_events.c.state, meter_events.c.created_at)
Index(
    "ix_remit_meter_events_customer_meter_hour", meter_events.c.customer_id, meter_events.c.meter, meter_events.c.hour
)

usage_rollups = Table(
    "remit_usage_rollups",
    metadata,
    Column("customer_id", String(255), nullable=False),
    Column("meter", String(64), nullable=False),
    Column("resolution", String(8), nullable=False),
    Column("period_start", UtcDateTime, nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("events", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("customer_id", "meter", "resolution", "period_start"),
)

usage_watermarks = Table(
    "remit_usage_watermarks",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("last_id", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

__all__ = ["meter_events", "usage_rollups", "usage_watermarks"]
