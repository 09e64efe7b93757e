"""The append-only ledger (with triggers refusing UPDATE and DELETE) and the billing mirror tables.

Revision ID: 0003_ledger_mirror
Revises: 0002_webhooks
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from remit.db.types import BigId, Json, UtcDateTime

revision = "0003_ledger_mirror"
down_revision = "0002_webhooks"
branch_labels = None
depends_on = None

LEDGER = "remit_ledger_events"

# PostgreSQL: one row-level trigger function for both statements; RAISE aborts the statement and the
# transaction, whatever role or ORM issued it.
PG_FUNCTION = f"""
CREATE FUNCTION remit_ledger_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '{LEDGER} is append-only: % refused', TG_OP;
END $$;
"""
PG_TRIGGER = f"""
CREATE TRIGGER remit_ledger_events_append_only BEFORE UPDATE OR DELETE ON {LEDGER}
  FOR EACH ROW EXECUTE FUNCTION remit_ledger_events_append_only();
"""
# SQLite: a trigger per statement kind; RAISE(ABORT) undoes the statement and fails it.
SQLITE_TRIGGERS = [
    f"""
CREATE TRIGGER remit_ledger_events_no_update BEFORE UPDATE ON {LEDGER}
BEGIN SELECT RAISE(ABORT, '{LEDGER} is append-only: UPDATE refused'); END;
""",
    f"""
CREATE TRIGGER remit_ledger_events_no_delete BEFORE DELETE ON {LEDGER}
BEGIN SELECT RAISE(ABORT, '{LEDGER} is append-only: DELETE refused'); END;
""",
]

ID = sa.String(255)
STATUS = sa.String(32)
CURRENCY = sa.String(3)


def _common() -> list[Any]:
    return [
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("stripe_id", ID, nullable=False),
        sa.Column("livemode", sa.Boolean, nullable=False),
        sa.Column("created", UtcDateTime, nullable=False),
        sa.Column("data", Json, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("watermark_created", UtcDateTime, nullable=False),
        sa.Column("watermark_hint", sa.BigInteger, nullable=False),
        sa.Column("watermark_phase", sa.SmallInteger, nullable=False),
        sa.Column("watermark_event_id", ID, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    ]


def _object_table(name: str, *columns: Any, indexed: tuple[str, ...] = ()) -> None:
    op.create_table(
        name,
        *_common(),
        *columns,
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
        sa.UniqueConstraint("stripe_id", name=f"uq_{name}_stripe_id"),
    )
    op.create_index(f"ix_{name}_created_id", name, ["created", "id"])
    for column in indexed:
        op.create_index(f"ix_{name}_{column}", name, [column])


def _child_table(name: str, parent: str, *columns: Any) -> None:
    op.create_table(
        name,
        *_common(),
        sa.Column(parent, ID, nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
        sa.UniqueConstraint(parent, "stripe_id", name=f"uq_{name}_{parent}_stripe_id"),
    )


#: Every table and its secondary indexes, for the downgrade.
OBJECT_TABLES: dict[str, tuple[str, ...]] = {
    "remit_customers": (),
    "remit_payment_methods": ("customer_id",),
    "remit_subscriptions": ("customer_id", "status"),
    "remit_invoices": ("customer_id", "subscription_id", "status"),
    "remit_charges": ("customer_id", "payment_intent_id"),
    "remit_refunds": ("charge_id",),
    "remit_disputes": ("charge_id",),
    "remit_checkout_sessions": ("customer_id",),
    "remit_products": (),
    "remit_prices": ("product_id",),
}
CHILD_TABLES = ("remit_subscription_items", "remit_invoice_lines")


def _ledger() -> None:
    op.create_table(
        LEDGER,
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("data", Json, nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{LEDGER}"),
        sa.UniqueConstraint("idempotency_key", name=f"uq_{LEDGER}_idempotency_key"),
    )
    op.create_index(f"ix_{LEDGER}_subject_id", LEDGER, ["subject", "id"])
    op.create_index(f"ix_{LEDGER}_type_id", LEDGER, ["type", "id"])
    op.create_index(f"ix_{LEDGER}_recorded_at", LEDGER, ["recorded_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)


def upgrade() -> None:
    _ledger()
    tables = OBJECT_TABLES
    _object_table(
        "remit_customers",
        sa.Column("currency", CURRENCY, nullable=True),
        sa.Column("balance", sa.BigInteger, nullable=True),
        sa.Column("delinquent", sa.Boolean, nullable=True),
    )
    _object_table(
        "remit_payment_methods",
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("type", sa.String(64), nullable=True),
        indexed=tables["remit_payment_methods"],
    )
    _object_table(
        "remit_subscriptions",
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("status", STATUS, nullable=True),
        sa.Column("currency", CURRENCY, nullable=True),
        sa.Column("current_period_end", UtcDateTime, nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean, nullable=True),
        indexed=tables["remit_subscriptions"],
    )
    _child_table(
        "remit_subscription_items",
        "subscription_id",
        sa.Column("price_id", ID, nullable=True),
        sa.Column("quantity", sa.BigInteger, nullable=True),
    )
    _object_table(
        "remit_invoices",
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("subscription_id", ID, nullable=True),
        sa.Column("status", STATUS, nullable=True),
        sa.Column("currency", CURRENCY, nullable=True),
        sa.Column("total", sa.BigInteger, nullable=True),
        sa.Column("amount_due", sa.BigInteger, nullable=True),
        sa.Column("amount_paid", sa.BigInteger, nullable=True),
        sa.Column("amount_remaining", sa.BigInteger, nullable=True),
        indexed=tables["remit_invoices"],
    )
    _child_table(
        "remit_invoice_lines",
        "invoice_id",
        sa.Column("price_id", ID, nullable=True),
        sa.Column("amount", sa.BigInteger, nullable=True),
        sa.Column("currency", CURRENCY, nullable=True),
        sa.Column("quantity", sa.BigInteger, nullable=True),
    )
    _object_table(
        "remit_charges",
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("payment_intent_id", ID, nullable=True),
        sa.Column("invoice_id", ID, nullable=True),
        sa.Column("status", STATUS, nullable=True),
        sa.Column("amount", sa.BigInteger, nullable=True),
        sa.Column("amount_captured", sa.BigInteger, nullable=True),
        sa.Column("amount_refunded", sa.BigInteger, nullable=True),
        sa.Column("currency", CURRENCY, nullable=True),
        sa.Column("paid", sa.Boolean, nullable=True),
        sa.Column("refunded", sa.Boolean, nullable=True),
        sa.Column("disputed", sa.Boolean, nullable=True),
        indexed=tables["remit_charges"],
    )
    for name in ("remit_refunds", "remit_disputes"):
        _object_table(
            name,
            sa.Column("charge_id", ID, nullable=True),
            sa.Column("payment_intent_id", ID, nullable=True),
            sa.Column("status", STATUS, nullable=True),
            sa.Column("amount", sa.BigInteger, nullable=True),
            sa.Column("currency", CURRENCY, nullable=True),
            sa.Column("reason", sa.String(64), nullable=True),
            indexed=tables[name],
        )
    _object_table(
        "remit_checkout_sessions",
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("subscription_id", ID, nullable=True),
        sa.Column("payment_intent_id", ID, nullable=True),
        sa.Column("mode", sa.String(16), nullable=True),
        sa.Column("status", STATUS, nullable=True),
        sa.Column("payment_status", STATUS, nullable=True),
        sa.Column("amount_total", sa.BigInteger, nullable=True),
        sa.Column("currency", CURRENCY, nullable=True),
        indexed=tables["remit_checkout_sessions"],
    )
    _object_table("remit_products", sa.Column("active", sa.Boolean, nullable=True))
    _object_table(
        "remit_prices",
        sa.Column("product_id", ID, nullable=True),
        sa.Column("active", sa.Boolean, nullable=True),
        sa.Column("currency", CURRENCY, nullable=True),
        sa.Column("unit_amount", sa.BigInteger, nullable=True),
        sa.Column("type", sa.String(16), nullable=True),
        sa.Column("recurring_interval", sa.String(16), nullable=True),
        indexed=tables["remit_prices"],
    )


def downgrade() -> None:
    for name in CHILD_TABLES:
        op.drop_table(name)
    for name, indexed in OBJECT_TABLES.items():
        for column in indexed:
            op.drop_index(f"ix_{name}_{column}", table_name=name)
        op.drop_index(f"ix_{name}_created_id", table_name=name)
        op.drop_table(name)
    for index in ("recorded_at", "type_id", "subject_id"):
        op.drop_index(f"ix_{LEDGER}_{index}", table_name=LEDGER)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS remit_ledger_events_append_only ON {LEDGER}")
        op.execute("DROP FUNCTION IF EXISTS remit_ledger_events_append_only()")
    op.drop_table(LEDGER)
