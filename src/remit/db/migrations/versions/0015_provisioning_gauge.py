"""The open provisioning jobs' partial index carries ``attempts`` too, so the stuck gauge is an index-only scan.

The gauge's predicate reads ``status``, ``updated_at`` and ``attempts``; with all three in the partial index the
count touches only the open rows' index entries, never the heap (``bench/provisioning.py`` EXPLAINs it).

Revision ID: 0015_provisioning_gauge
Revises: 0014_guard
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_provisioning_gauge"
down_revision = "0014_guard"
branch_labels = None
depends_on = None

OPEN = "status IN ('enqueued', 'provisioning', 'failed')"
NAME = "ix_remit_provisioning_jobs_open"
TABLE = "remit_provisioning_jobs"


def upgrade() -> None:
    op.drop_index(NAME, table_name=TABLE)
    op.create_index(
        NAME, TABLE, ["status", "updated_at", "attempts"], postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN)
    )


def downgrade() -> None:
    op.drop_index(NAME, table_name=TABLE)
    op.create_index(NAME, TABLE, ["status", "updated_at"], postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
