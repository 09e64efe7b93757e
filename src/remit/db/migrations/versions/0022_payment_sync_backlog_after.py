"""Payment sync's cursor keeps the id of the last event a backlog pass read (``backlog_after``), so the next pass
continues from that very event (``starting_after``) instead of from its second: a second holding more events
than one pass reads is read to its end, never stepped past.

Revision ID: 0022_payment_sync_backlog_after
Revises: 0021_payment_sync_cursor
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_payment_sync_backlog_after"
down_revision = "0021_payment_sync_cursor"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("remit_payment_sync_cursors") as batch:
        batch.add_column(sa.Column("backlog_after", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("remit_payment_sync_cursors") as batch:
        batch.drop_column("backlog_after")
