"""The fake processor's world, kept in remit's own database so the service, the CLI and tests share it.

Stripe objects are documents: one row per object in ``remit_fake_objects`` with the object's JSON exactly as
the API returns it (``data``) and the fake's own bookkeeping beside it (``private``: e.g. how a test card
behaves, whether a trial-ending notice went out), never shown to callers. Events keep their payload as the
exact text that was signed, so a redelivery sends the same bytes. Counters make ids deterministic, the clock
row moves time for every process at once, scripted failures are consumed by whichever process calls next,
and idempotency keys are unique in the database, so a replay converges on the first answer.
"""

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, String, Table, Text

from remit.db.tables.base import metadata
from remit.db.types import BigId, Json, UtcDateTime

fake_objects = Table(
    "remit_fake_objects",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("object", String(64), nullable=False),
    Column("customer", String(255), nullable=True),
    Column("created", BigInteger, nullable=False),
    Column("data", Json, nullable=False),
    Column("private", Json, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_remit_fake_objects_object_created", fake_objects.c.object, fake_objects.c.created)
Index("ix_remit_fake_objects_customer", fake_objects.c.customer)

fake_events = Table(
    "remit_fake_events",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("id", String(255), nullable=False, unique=True),
    Column("type", String(200), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("payload", Text, nullable=False),
    Column("delivery_status", String(16), nullable=False),
    Column("delivery_attempts", Integer, nullable=False),
    Column("last_status_code", Integer, nullable=True),
    Column("last_attempt_at", UtcDateTime, nullable=True),
)
Index("ix_remit_fake_events_type", fake_events.c.type)

fake_counters = Table(
    "remit_fake_counters",
    metadata,
    Column("prefix", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

fake_clock = Table(
    "remit_fake_clock",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("offset_seconds", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

fake_failures = Table(
    "remit_fake_failures",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("method", String(100), nullable=True),
    Column("kind", String(16), nullable=False),
    Column("remaining", Integer, nullable=False),
    Column("retry_after", Integer, nullable=True),
    Column("hold_seconds", Float, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

fake_idempotency_keys = Table(
    "remit_fake_idempotency_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("route", String(100), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

__all__ = [
    "fake_clock",
    "fake_counters",
    "fake_events",
    "fake_failures",
    "fake_idempotency_keys",
    "fake_objects",
]
