"""The money part: dunning cases, recorded fees and their drift, and the once-only money signals.

Revision ID: 0013_money
Revises: 0012_usage
"""

import sqlalchemy as sa
from alembic import op

from remit.db.types import BigId, UtcDateTime

revision = "0013_money"
down_revision = "0012_usage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remit_dunning_cases",
        sa.Column("subscription_id", sa.String(255), nullable=False),
        sa.Column("customer_id", sa.String(255), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("past_due_since", UtcDateTime, nullable=False),
        sa.Column("grace_until", UtcDateTime, nullable=False),
        sa.Column("action", sa.String(16), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_attempt_at", UtcDateTime, nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("confirmed_status", sa.String(32), nullable=True),
        sa.Column("source", sa.String(32), nullable=True),
        sa.Column("exhausted_at", UtcDateTime, nullable=True),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("subscription_id", name="pk_remit_dunning_cases"),
    )
    op.create_index("ix_remit_dunning_cases_state_grace_until", "remit_dunning_cases", ["state", "grace_until"])
    op.create_table(
        "remit_fees",
        sa.Column("subject_id", sa.String(255), nullable=False),
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("charge_id", sa.String(255), nullable=True),
        sa.Column("balance_transaction_id", sa.String(255), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("fee", sa.BigInteger, nullable=False),
        sa.Column("net", sa.BigInteger, nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.Column("drift_count", sa.Integer, nullable=False),
        sa.Column("drifted_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("subject_id", name="pk_remit_fees"),
    )
    op.create_index("ix_remit_fees_charge_id", "remit_fees", ["charge_id"])
    op.create_table(
        "remit_fee_drifts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("subject_id", sa.String(255), nullable=False),
        sa.Column("balance_transaction_id", sa.String(255), nullable=False),
        sa.Column("old_fee", sa.BigInteger, nullable=False),
        sa.Column("new_fee", sa.BigInteger, nullable=False),
        sa.Column("old_net", sa.BigInteger, nullable=False),
        sa.Column("new_net", sa.BigInteger, nullable=False),
        sa.Column("detected_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_remit_fee_drifts"),
    )
    op.create_index("ix_remit_fee_drifts_subject_id", "remit_fee_drifts", ["subject_id"])
    op.create_table(
        "remit_money_signals",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("subject_type", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.String(255), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_remit_money_signals"),
    )
    op.create_index("ix_remit_money_signals_event_created_at", "remit_money_signals", ["event", "created_at"])


def downgrade() -> None:
    op.drop_table("remit_money_signals")
    op.drop_table("remit_fee_drifts")
    op.drop_table("remit_fees")
    op.drop_table("remit_dunning_cases")
