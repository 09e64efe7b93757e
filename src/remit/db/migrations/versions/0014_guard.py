"""The internal API's rate limit: ``remit_rate_limits`` counts each token's requests per window.

Held in the database so that every ``remit serve`` process, on every host, counts against one limit.

Revision ID: 0014_guard
Revises: 0013_money
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_guard"
down_revision = "0013_money"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remit_rate_limits",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("window", sa.BigInteger, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("key", "window", name="pk_remit_rate_limits"),
    )


def downgrade() -> None:
    op.drop_table("remit_rate_limits")
