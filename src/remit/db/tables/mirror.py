"""The billing mirror: the processor's objects as remit last saw them, one table per object type.

Every table keeps the full object JSON as last applied (``data``), a ``deleted`` flag, the columns the internal
API filters and sorts by, and a watermark naming the event that wrote the row: its ``created`` time, the
object's own version hint (a number derived from fields Stripe only ever moves forward), a phase (created <
updated < deleted) and the event id. Upserts only replace a row whose watermark is older (see
:mod:`remit.billing.watermark` and ``docs/mirror.md``), so late or repeated events never regress state.

Top-level objects are unique on their processor id (``stripe_id``). Subscription items and invoice lines are
projected from their parent's embedded list and are unique within their parent: old API versions reuse one
line id (the subscription's) on every invoice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Index, SmallInteger, String, Table, UniqueConstraint

from remit.db.tables.base import metadata
from remit.db.types import BigId, Json, UtcDateTime

ID = String(255)
STATUS = String(32)
CURRENCY = String(3)


def _common() -> list[Column[Any]]:
    """The columns every mirror table has, in order."""
    return [
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column("stripe_id", ID, nullable=False),
        Column("livemode", Boolean, nullable=False),
        Column("created", UtcDateTime, nullable=False),
        Column("data", Json, nullable=False),
        Column("deleted", Boolean, nullable=False),
        Column("watermark_created", UtcDateTime, nullable=False),
        Column("watermark_hint", BigInteger, nullable=False),
        Column("watermark_phase", SmallInteger, nullable=False),
        Column("watermark_event_id", ID, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
    ]


def _object_table(name: str, *columns: Column[Any]) -> Table:
    """A top-level mirror table: unique on ``stripe_id``, listed newest first by ``(created, id)``."""
    table = Table(name, metadata, *_common(), *columns, UniqueConstraint("stripe_id"))
    Index(f"ix_{name}_created_id", table.c.created, table.c.id)
    return table


def _child_table(name: str, parent: str, *columns: Column[Any]) -> Table:
    """A mirror table of objects embedded in a parent's list: unique on ``(parent, stripe_id)``."""
    return Table(
        name,
        metadata,
        *_common(),
        Column(parent, ID, nullable=False),
        *columns,
        UniqueConstraint(parent, "stripe_id"),
    )


customers = _object_table(
    "remit_customers",
    Column("currency", CURRENCY, nullable=True),
    Column("balance", BigInteger, nullable=True),
    Column("delinquent", Boolean, nullable=True),
)

payment_methods = _object_table(
    "remit_payment_methods",
    Column("customer_id", ID, nullable=True),
    Column("type", String(64), nullable=True),
)
Index("ix_remit_payment_methods_customer_id", payment_methods.c.customer_id)

subscriptions = _object_table(
    "remit_subscriptions",
    Column("customer_id", ID, nullable=True),
    Column("status", STATUS, nullable=True),
    Column("currency", CURRENCY, nullable=True),
    Column("current_period_end", UtcDateTime, nullable=True),
    Column("cancel_at_period_end", Boolean, nullable=True),
)
Index("ix_remit_subscriptions_customer_id", subscriptions.c.customer_id)
Index("ix_remit_subscriptions_status", subscriptions.c.status)

subscription_items = _child_table(
    "remit_subscription_items",
    "subscription_id",
    Column("price_id", ID, nullable=True),
    Column("quantity", BigInteger, nullable=True),
)

invoices = _object_table(
    "remit_invoices",
    Column("customer_id", ID, nullable=True),
    Column("subscription_id", ID, nullable=True),
    Column("status", STATUS, nullable=True),
    Column("currency", CURRENCY, nullable=True),
    Column("total", BigInteger, nullable=True),
    Column("amount_due", BigInteger, nullable=True),
    Column("amount_paid", BigInteger, nullable=True),
    Column("amount_remaining", BigInteger, nullable=True),
)
Index("ix_remit_invoices_customer_id", invoices.c.customer_id)
Index("ix_remit_invoices_subscription_id", invoices.c.subscription_id)
Index("ix_remit_invoices_status", invoices.c.status)

invoice_lines = _child_table(
    "remit_invoice_lines",
    "invoice_id",
    Column("price_id", ID, nullable=True),
    Column("amount", BigInteger, nullable=True),
    Column("currency", CURRENCY, nullable=True),
    Column("quantity", BigInteger, nullable=True),
)

charges = _object_table(
    "remit_charges",
    Column("customer_id", ID, nullable=True),
    Column("payment_intent_id", ID, nullable=True),
    Column("invoice_id", ID, nullable=True),
    Column("status", STATUS, nullable=True),
    Column("amount", BigInteger, nullable=True),
    Column("amount_captured", BigInteger, nullable=True),
    Column("amount_refunded", BigInteger, nullable=True),
    Column("currency", CURRENCY, nullable=True),
    Column("paid", Boolean, nullable=True),
    Column("refunded", Boolean, nullable=True),
    Column("disputed", Boolean, nullable=True),
)
Index("ix_remit_charges_customer_id", charges.c.customer_id)
Index("ix_remit_charges_payment_intent_id", charges.c.payment_intent_id)

refunds = _object_table(
    "remit_refunds",
    Column("charge_id", ID, nullable=True),
    Column("payment_intent_id", ID, nullable=True),
    Column("status", STATUS, nullable=True),
    Column("amount", BigInteger, nullable=True),
    Column("currency", CURRENCY, nullable=True),
    Column("reason", String(64), nullable=True),
)
Index("ix_remit_refunds_charge_id", refunds.c.charge_id)

disputes = _object_table(
    "remit_disputes",
    Column("charge_id", ID, nullable=True),
    Column("payment_intent_id", ID, nullable=True),
    Column("status", STATUS, nullable=True),
    Column("amount", BigInteger, nullable=True),
    Column("currency", CURRENCY, nullable=True),
    Column("reason", String(64), nullable=True),
)
Index("ix_remit_disputes_charge_id", disputes.c.charge_id)

checkout_sessions = _object_table(
    "remit_checkout_sessions",
    Column("customer_id", ID, nullable=True),
    Column("subscription_id", ID, nullable=True),
    Column("payment_intent_id", ID, nullable=True),
    Column("mode", String(16), nullable=True),
    Column("status", STATUS, nullable=True),
    Column("payment_status", STATUS, nullable=True),
    Column("amount_total", BigInteger, nullable=True),
    Column("currency", CURRENCY, nullable=True),
)
Index("ix_remit_checkout_sessions_customer_id", checkout_sessions.c.customer_id)

products = _object_table(
    "remit_products",
    Column("active", Boolean, nullable=True),
)

prices = _object_table(
    "remit_prices",
    Column("product_id", ID, nullable=True),
    Column("active", Boolean, nullable=True),
    Column("currency", CURRENCY, nullable=True),
    Column("unit_amount", BigInteger, nullable=True),
    Column("type", String(16), nullable=True),
    Column("recurring_interval", String(16), nullable=True),
)
Index("ix_remit_prices_product_id", prices.c.product_id)

__all__ = [
    "charges",
    "checkout_sessions",
    "customers",
    "disputes",
    "invoice_lines",
    "invoices",
    "payment_methods",
    "prices",
    "products",
    "refunds",
    "subscription_items",
    "subscriptions",
]
