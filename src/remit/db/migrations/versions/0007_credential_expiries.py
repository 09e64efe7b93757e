"""Processor credentials marked expired: one row per processor while its key is refused (401/403).

Revision ID: 0007_credential_expiries
Revises: 0006_periodic_tasks
"""

import sqlalchemy as sa
from alembic import op

from remit.db.types import Json, UtcDateTime

revision = "0007_credential_expiries"
down_revision = "0006_periodic_tasks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remit_credential_expiries",
        sa.Column("processor", sa.String(16), nullable=False),
        sa.Column("expired_at", UtcDateTime, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("code", sa.String(64), nullable=True),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("job_id", sa.BigInteger, nullable=True),
        sa.Column("job_name", sa.String(200), nullable=True),
        sa.Column("queues", Json, nullable=False),
        sa.PrimaryKeyConstraint("processor", name="pk_remit_credential_expiries"),
    )


def downgrade() -> None:
    op.drop_table("remit_credential_expiries")
