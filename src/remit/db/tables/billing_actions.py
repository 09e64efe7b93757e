"""Billing actions: one row per idempotency key, holding the outcome a repeat converges on.

``remit_billing_actions`` is written by :mod:`remit.billing.actions`: a row is claimed (``running``) before the
processor is called and holds, once done, the processor's answer (``succeeded``: the object, which for a
checkout or portal session includes its URL — this table is where a repeat gets it back from, and nothing
else shows it) or its refusal (``failed``: status, code, param, message). ``fingerprint`` is the hash of the
request, so a key reused for another request is refused instead of answering the first one's result.

A session's row has ``secrets_expire_at`` (24 h after the session was made, when every checkout or portal
session has expired, or a checkout's earlier ``expires_at``); the periodic task ``billing.prune_actions``
(:mod:`remit.billing.action_retention`) blanks its URL and client secret after that (``redacted_at``) and
deletes every row whose claim is older than ``REMIT_BILLING_ACTION_RETENTION_DAYS``.
"""

from sqlalchemy import Column, Index, Integer, String, Table, UniqueConstraint

from remit.db.tables.base import metadata
from remit.db.types import BigId, Json, UtcDateTime

billing_actions = Table(
    "remit_billing_actions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(255), nullable=False),
    Column("action", String(32), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("processor", String(16), nullable=False),
    Column("account_id", String(255), nullable=True),
    Column("customer_id", String(255), nullable=True),
    Column("object_id", String(255), nullable=True),
    Column("result", Json, nullable=True),
    Column("error", Json, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("claimed_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("secrets_expire_at", UtcDateTime, nullable=True),
    Column("redacted_at", UtcDateTime, nullable=True),
    UniqueConstraint("idempotency_key"),
)
Index("ix_remit_billing_actions_claimed_at", billing_actions.c.claimed_at)
Index("ix_remit_billing_actions_secrets_expire_at", billing_actions.c.secrets_expire_at)

__all__ = ["billing_actions"]
