"""The provisioning hand-off: accounts and one provisioning job per paid checkout session.

Revision ID: 0011_provisioning
Revises: 0010_recovery
"""

import sqlalchemy as sa
from alembic import op

from remit.db.types import BigId, Json, UtcDateTime

revision = "0011_provisioning"
down_revision = "0010_recovery"
branch_labels = None
depends_on = None

OPEN = "status IN ('enqueued', 'provisioning', 'failed')"


def upgrade() -> None:
    op.create_table(
        "remit_accounts",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("customer_id", sa.String(255), nullable=True),
        sa.Column("package_slug", sa.String(64), nullable=True),
        sa.Column("tokens_quota", sa.BigInteger, nullable=True),
        sa.Column("deployment_id", sa.String(255), nullable=True),
        sa.Column("cell_id", sa.String(255), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_remit_accounts"),
    )
    op.create_index("ix_remit_accounts_customer_id", "remit_accounts", ["customer_id"])

    op.create_table(
        "remit_provisioning_jobs",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("stripe_session_id", sa.String(255), nullable=False),
        sa.Column("account_id", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("trigger_payload", Json, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("last_attempt_at", UtcDateTime, nullable=True),
        sa.Column("deployment_id", sa.String(255), nullable=True),
        sa.Column("cell_id", sa.String(255), nullable=True),
        sa.Column("tokens_quota", sa.BigInteger, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_remit_provisioning_jobs"),
        sa.UniqueConstraint("stripe_session_id", name="uq_remit_provisioning_jobs_stripe_session_id"),
    )
    op.create_index(
        "ix_remit_provisioning_jobs_open",
        "remit_provisioning_jobs",
        ["status", "updated_at"],
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )
    op.create_index("ix_remit_provisioning_jobs_account_id", "remit_provisioning_jobs", ["account_id"])


def downgrade() -> None:
    op.drop_table("remit_provisioning_jobs")
    op.drop_table("remit_accounts")
