"""The fake processor's world: objects, events, id counters, clock, scripted failures, idempotency keys.

Revision ID: 0004_fake_processor
Revises: 0003_ledger_mirror
"""

import sqlalchemy as sa
from alembic import op

from remit.db.types import BigId, Json, UtcDateTime

revision = "0004_fake_processor"
down_revision = "0003_ledger_mirror"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remit_fake_objects",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("object", sa.String(64), nullable=False),
        sa.Column("customer", sa.String(255), nullable=True),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("data", Json, nullable=False),
        sa.Column("private", Json, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_remit_fake_objects"),
    )
    op.create_index("ix_remit_fake_objects_object_created", "remit_fake_objects", ["object", "created"])
    op.create_index("ix_remit_fake_objects_customer", "remit_fake_objects", ["customer"])

    op.create_table(
        "remit_fake_events",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("delivery_status", sa.String(16), nullable=False),
        sa.Column("delivery_attempts", sa.Integer, nullable=False),
        sa.Column("last_status_code", sa.Integer, nullable=True),
        sa.Column("last_attempt_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_remit_fake_events"),
        sa.UniqueConstraint("id", name="uq_remit_fake_events_id"),
    )
    op.create_index("ix_remit_fake_events_type", "remit_fake_events", ["type"])

    op.create_table(
        "remit_fake_counters",
        sa.Column("prefix", sa.String(64), nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("prefix", name="pk_remit_fake_counters"),
    )
    op.create_table(
        "remit_fake_clock",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("offset_seconds", sa.BigInteger, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_remit_fake_clock"),
    )
    op.create_table(
        "remit_fake_failures",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("method", sa.String(100), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("remaining", sa.Integer, nullable=False),
        sa.Column("retry_after", sa.Integer, nullable=True),
        sa.Column("hold_seconds", sa.Float, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_remit_fake_failures"),
    )
    op.create_table(
        "remit_fake_idempotency_keys",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("route", sa.String(100), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_remit_fake_idempotency_keys"),
    )


def downgrade() -> None:
    op.drop_table("remit_fake_idempotency_keys")
    op.drop_table("remit_fake_failures")
    op.drop_table("remit_fake_clock")
    op.drop_table("remit_fake_counters")
    op.drop_index("ix_remit_fake_events_type", table_name="remit_fake_events")
    op.drop_table("remit_fake_events")
    op.drop_index("ix_remit_fake_objects_customer", table_name="remit_fake_objects")
    op.drop_index("ix_remit_fake_objects_object_created", table_name="remit_fake_objects")
    op.drop_table("remit_fake_objects")
