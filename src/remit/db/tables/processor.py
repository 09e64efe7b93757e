"""What remit knows about its standing with the payment processor, shared by every process.

``remit_credential_expiries`` holds one row per processor while its credentials are expired: written by the
first job the processor answered 401/403 (an ``INSERT … ON CONFLICT DO NOTHING``, so exactly one writer wins
and emits ``processor_credentials_expired``), read by ``GET /health`` and ``remit doctor``, and deleted when an
operator resumes a queue the expiry paused (:mod:`remit.processor.credentials`).
"""

from sqlalchemy import BigInteger, Column, Integer, String, Table

from remit.db.tables.base import metadata
from remit.db.types import Json, UtcDateTime

credential_expiries = Table(
    "remit_credential_expiries",
    metadata,
    Column("processor", String(16), primary_key=True),
    Column("expired_at", UtcDateTime, nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("code", String(64), nullable=True),
    Column("queue", String(64), nullable=False),
    Column("job_id", BigInteger, nullable=True),
    Column("job_name", String(200), nullable=True),
    Column("queues", Json, nullable=False),
)
