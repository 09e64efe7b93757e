"""The mail log and the development outbox.

``remit_mail`` holds one row per transactional mail remit owes someone, keyed by its idempotency key
(``receipt:in_123``): a replayed webhook or a retried job inserts nothing new (``ON CONFLICT DO NOTHING``).
Its ``state`` follows :data:`remit.mail.log.MAIL_STATES`; ``deliveries`` counts the times the message was (or
may have been) handed to the mail server, which bounds duplicates. No column holds an address or a name:
recipients are resolved when the mail is built and go to the mail server (or the outbox) only.

``remit_mail_outbox`` is where mail goes when no SMTP server is configured (development, the demo): the
whole message as sent, unique on its Message-ID, so what a developer sees is what a customer would get.
"""

from sqlalchemy import Column, Index, Integer, LargeBinary, String, Table, UniqueConstraint

from remit.db.tables.base import metadata
from remit.db.types import BigId, Json, UtcDateTime

mail_log = Table(
    "remit_mail",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("key", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("subject_id", String(255), nullable=False),
    Column("customer_id", String(255), nullable=True),
    Column("params", Json, nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("deliveries", Integer, nullable=False),
    Column("transport", String(16), nullable=True),
    Column("attachment", String(16), nullable=True),
    Column("last_error", Json, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("sending_at", UtcDateTime, nullable=True),
    Column("sent_at", UtcDateTime, nullable=True),
    UniqueConstraint("key"),
)
Index("ix_remit_mail_state_created_at", mail_log.c.state, mail_log.c.created_at)
Index("ix_remit_mail_customer_id", mail_log.c.customer_id)

mail_outbox = Table(
    "remit_mail_outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("message_id", String(255), nullable=False),
    Column("message", LargeBinary, nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("stored_at", UtcDateTime, nullable=False),
    UniqueConstraint("message_id"),
)

__all__ = ["mail_log", "mail_outbox"]
