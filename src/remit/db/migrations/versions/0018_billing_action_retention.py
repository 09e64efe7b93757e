"""Billing actions are kept for a while, then pruned; session secrets are blanked once the session expired.

``secrets_expire_at``: for a checkout or portal session's row, when its URL and client secret stop being worth
keeping (set when the outcome is stored; cleared when they are blanked). ``redacted_at``: when they were
blanked. Indexes serve the periodic task ``billing.prune_actions``: rows by ``claimed_at`` (deleted after the
retention) and by ``secrets_expire_at`` (blanked).

Revision ID: 0018_billing_action_retention
Revises: 0017_billing_actions
"""

import sqlalchemy as sa
from alembic import op

from remit.db.types import UtcDateTime

revision = "0018_billing_action_retention"
down_revision = "0017_billing_actions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("remit_billing_actions") as batch:
        batch.add_column(sa.Column("secrets_expire_at", UtcDateTime, nullable=True))
        batch.add_column(sa.Column("redacted_at", UtcDateTime, nullable=True))
    op.create_index("ix_remit_billing_actions_claimed_at", "remit_billing_actions", ["claimed_at"])
    op.create_index("ix_remit_billing_actions_secrets_expire_at", "remit_billing_actions", ["secrets_expire_at"])


def downgrade() -> None:
    op.drop_index("ix_remit_billing_actions_secrets_expire_at", table_name="remit_billing_actions")
    op.drop_index("ix_remit_billing_actions_claimed_at", table_name="remit_billing_actions")
    with op.batch_alter_table("remit_billing_actions") as batch:
        batch.drop_column("redacted_at")
        batch.drop_column("secrets_expire_at")
