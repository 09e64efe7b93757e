"""Runtime flags: ``remit_flags`` holds the switches every process obeys without a restart.

A row per switch an operator set — the ``billing`` and ``origin_guard`` flags, and the emergency stop — with
who set it and when; a flag without a row takes its ``REMIT_FLAG_*`` value.

Revision ID: 0009_flags
Revises: 0008_mail_documents
"""

import sqlalchemy as sa
from alembic import op

from remit.db.types import Json, UtcDateTime

revision = "0009_flags"
down_revision = "0008_mail_documents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remit_flags",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("details", Json, nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_remit_flags"),
    )


def downgrade() -> None:
    op.drop_table("remit_flags")
