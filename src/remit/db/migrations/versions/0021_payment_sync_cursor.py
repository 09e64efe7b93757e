"""Payment sync's cursor over the processor's event stream: ``remit_payment_sync_cursors``.

Revision ID: 0021_payment_sync_cursor
Revises: 0020_provisioning_fillfactor
"""

import sqlalchemy as sa
from alembic import op

from remit.db.types import UtcDateTime

revision = "0021_payment_sync_cursor"
down_revision = "0020_provisioning_fillfactor"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remit_payment_sync_cursors",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("since", UtcDateTime, nullable=False),
        sa.Column("backlog_until", UtcDateTime, nullable=True),
        sa.Column("backlog_newest", UtcDateTime, nullable=True),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("remit_payment_sync_cursors")
