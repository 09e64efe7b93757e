"""Two partial indexes for the reconciler, so a run reads the jobs it takes rather than every open job.

``ix_remit_provisioning_jobs_claimable`` holds the open jobs with a payload in the order the claiming UPDATE takes
them (``created_at, id``): the claim reads the first ``REMIT_PROVISIONING_BATCH`` entries instead of fetching and
sorting every open row. ``ix_remit_provisioning_jobs_no_payload`` holds the open jobs without one (normally
none), which a run counts as skipped. ``bench/provisioning.py`` EXPLAINs the claim.

Revision ID: 0019_provisioning_claim
Revises: 0018_billing_action_retention
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_provisioning_claim"
down_revision = "0018_billing_action_retention"
branch_labels = None
depends_on = None

TABLE = "remit_provisioning_jobs"
OPEN = "status IN ('enqueued', 'provisioning', 'failed')"
CLAIMABLE = f"{OPEN} AND trigger_payload IS NOT NULL"
NO_PAYLOAD = f"{OPEN} AND trigger_payload IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_remit_provisioning_jobs_claimable",
        TABLE,
        ["created_at", "id"],
        postgresql_where=sa.text(CLAIMABLE),
        sqlite_where=sa.text(CLAIMABLE),
    )
    op.create_index(
        "ix_remit_provisioning_jobs_no_payload",
        TABLE,
        ["created_at"],
        postgresql_where=sa.text(NO_PAYLOAD),
        sqlite_where=sa.text(NO_PAYLOAD),
    )


def downgrade() -> None:
    op.drop_index("ix_remit_provisioning_jobs_no_payload", table_name=TABLE)
    op.drop_index("ix_remit_provisioning_jobs_claimable", table_name=TABLE)
