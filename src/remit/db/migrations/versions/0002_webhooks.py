"""Webhooks: the event store (one row per processor event, raw body kept for replay).

Revision ID: 0002_webhooks
Revises: 0001_foundation
"""

import sqlalchemy as sa
from alembic import op

from remit.db.types import BigId, Json, UtcDateTime

revision = "0002_webhooks"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remit_webhook_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("processor", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("livemode", sa.Boolean, nullable=False),
        sa.Column("api_version", sa.String(64), nullable=True),
        sa.Column("account", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("object_id", sa.String(255), nullable=True),
        sa.Column("object_type", sa.String(64), nullable=True),
        sa.Column("event_created_at", UtcDateTime, nullable=True),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", Json, nullable=True),
        sa.Column("handler_results", Json, nullable=False),
        sa.Column("processed_at", UtcDateTime, nullable=True),
        sa.Column("dead_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_remit_webhook_events"),
        sa.UniqueConstraint("processor", "event_id", name="uq_remit_webhook_events_processor_event_id"),
    )
    op.create_index("ix_remit_webhook_events_status_received_at", "remit_webhook_events", ["status", "received_at"])
    op.create_index("ix_remit_webhook_events_object_id", "remit_webhook_events", ["object_id"])


def downgrade() -> None:
    op.drop_index("ix_remit_webhook_events_object_id", table_name="remit_webhook_events")
    op.drop_index("ix_remit_webhook_events_status_received_at", table_name="remit_webhook_events")
    op.drop_table("remit_webhook_events")
