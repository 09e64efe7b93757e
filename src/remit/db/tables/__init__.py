"""Every table remit owns, on one :data:`metadata`, one module per part.

Each part declares its tables in its own module here and its own Alembic revision; the migration test checks
that upgrading an empty database yields exactly these tables.
"""

from remit.db.tables.audit import audit_log
from remit.db.tables.base import metadata
from remit.db.tables.billing_actions import billing_actions
from remit.db.tables.documents import invoice_documents
from remit.db.tables.fake import (
    fake_clock,
    fake_counters,
    fake_events,
    fake_failures,
    fake_idempotency_keys,
    fake_objects,
)
from remit.db.tables.flags import flags
from remit.db.tables.guard import rate_limits
from remit.db.tables.jobs import jobs, leaders, periodic_tasks, queue_states, workers
from remit.db.tables.ledger import ledger_events
from remit.db.tables.mail import mail_log, mail_outbox
from remit.db.tables.mirror import (
    charges,
    checkout_sessions,
    customers,
    disputes,
    invoice_lines,
    invoices,
    payment_methods,
    prices,
    products,
    refunds,
    subscription_items,
    subscriptions,
)
from remit.db.tables.money import dunning_cases, fee_drifts, fees, money_signals, payment_sync_cursors
from remit.db.tables.ops import ops_events
from remit.db.tables.processor import credential_expiries
from remit.db.tables.provisioning import accounts, provisioning_jobs
from remit.db.tables.usage import meter_events, usage_rollups, usage_watermarks
from remit.db.tables.webhooks import webhook_events

__all__ = [
    "accounts",
    "audit_log",
    "billing_actions",
    "charges",
    "checkout_sessions",
    "credential_expiries",
    "customers",
    "disputes",
    "dunning_cases",
    "fake_clock",
    "fake_counters",
    "fake_events",
    "fake_failures",
    "fake_idempotency_keys",
    "fake_objects",
    "fee_drifts",
    "fees",
    "flags",
    "invoice_documents",
    "invoice_lines",
    "invoices",
    "jobs",
    "leaders",
    "ledger_events",
    "mail_log",
    "mail_outbox",
    "metadata",
    "meter_events",
    "money_signals",
    "ops_events",
    "payment_methods",
    "payment_sync_cursors",
    "periodic_tasks",
    "prices",
    "products",
    "provisioning_jobs",
    "queue_states",
    "rate_limits",
    "refunds",
    "subscription_items",
    "subscriptions",
    "usage_rollups",
    "usage_watermarks",
    "webhook_events",
    "workers",
]
