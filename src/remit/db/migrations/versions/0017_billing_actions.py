"""Billing actions: one row per idempotency key, the outcome a repeat converges on.

Revision ID: 0017_billing_actions
Revises: 0016_admin
"""

import sqlalchemy as sa
from alembic import op

from remit.db.types import BigId, Json, UtcDateTime

revision = "0017_billing_actions"
down_revision = "0016_admin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remit_billing_actions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("processor", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(255), nullable=True),
        sa.Column("customer_id", sa.String(255), nullable=True),
        sa.Column("object_id", sa.String(255), nullable=True),
        sa.Column("result", Json, nullable=True),
        sa.Column("error", Json, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("claimed_at", UtcDateTime, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_remit_billing_actions"),
        sa.UniqueConstraint("idempotency_key", name="uq_remit_billing_actions_idempotency_key"),
    )


def downgrade() -> None:
    op.drop_table("remit_billing_actions")
