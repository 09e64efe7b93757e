"""The newest ops events: ``remit_ops_events``, a bounded list the admin overview shows.

Revision ID: 0016_admin
Revises: 0015_provisioning_gauge
"""

import sqlalchemy as sa
from alembic import op

from remit.db.types import BigId, Json, UtcDateTime

revision = "0016_admin"
down_revision = "0015_provisioning_gauge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remit_ops_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("emitted_at", UtcDateTime, nullable=False),
        sa.Column("metadata", Json, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_remit_ops_events"),
    )


def downgrade() -> None:
    op.drop_table("remit_ops_events")
