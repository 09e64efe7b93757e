"""Usage metering: meter events (unique on the caller's operation id), hourly and daily rollups, and the
incremental rollup's watermark.

Revision ID: 0012_usage
Revises: 0011_provisioning
"""

import sqlalchemy as sa
from alembic import op

from remit.db.types import BigId, UtcDateTime

revision = "0012_usage"
down_revision = "0011_provisioning"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remit_meter_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("operation_id", sa.String(255), nullable=False),
        sa.Column("customer_id", sa.String(255), nullable=False),
        sa.Column("meter", sa.String(64), nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.Column("timestamp", UtcDateTime, nullable=False),
        sa.Column("hour", UtcDateTime, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("failed_source", sa.String(16), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("reported_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_remit_meter_events"),
        sa.UniqueConstraint("operation_id", name="uq_remit_meter_events_operation_id"),
    )
    op.create_index("ix_remit_meter_events_state_created_at", "remit_meter_events", ["state", "created_at"])
    op.create_index("ix_remit_meter_events_customer_meter_hour", "remit_meter_events", ["customer_id", "meter", "hour"])
    op.create_table(
        "remit_usage_rollups",
        sa.Column("customer_id", sa.String(255), nullable=False),
        sa.Column("meter", sa.String(64), nullable=False),
        sa.Column("resolution", sa.String(8), nullable=False),
        sa.Column("period_start", UtcDateTime, nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.Column("events", sa.BigInteger, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "meter", "resolution", "period_start", name="pk_remit_usage_rollups"),
    )
    op.create_table(
        "remit_usage_watermarks",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("last_id", sa.BigInteger, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_remit_usage_watermarks"),
    )


def downgrade() -> None:
    op.drop_table("remit_usage_watermarks")
    op.drop_table("remit_usage_rollups")
    op.drop_index("ix_remit_meter_events_customer_meter_hour", table_name="remit_meter_events")
    op.drop_index("ix_remit_meter_events_state_created_at", table_name="remit_meter_events")
    op.drop_table("remit_meter_events")
