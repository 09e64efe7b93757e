"""Workers say which runs they hold: ``remit_workers.running`` and ``running_as_of``.

Rescue used to trust a heartbeating worker with every job it had claimed. A claim whose commit the worker
never heard of (the connection died at commit) left a job ``executing`` under a live worker for good. With the
list of runs a worker holds, rescue returns such a run to its queue while the worker stays up.

Revision ID: 0010_recovery
Revises: 0009_flags
"""

import sqlalchemy as sa
from alembic import op

from remit.db.types import Json, UtcDateTime

revision = "0010_recovery"
down_revision = "0009_flags"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("remit_workers") as batch:
        batch.add_column(sa.Column("running", Json, nullable=True))
        batch.add_column(sa.Column("running_as_of", UtcDateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("remit_workers") as batch:
        batch.drop_column("running_as_of")
        batch.drop_column("running")
