"""Periodic tasks: one table for every scheduled thing the job engine runs, cron entries included.

``remit_periodic_tasks`` holds, per periodic task or cron entry, the tick last claimed (the compare-and-set that
runs a leader-only tick once) and what ``remit schedule list`` shows: last run, outcome, counts, next run. It
replaces ``remit_cron_entries``, whose rows are carried over (as ``kind = 'cron'``), so no cron entry fires a
tick it already fired.

Revision ID: 0006_periodic_tasks
Revises: 0005_ledger_no_truncate
"""

import sqlalchemy as sa
from alembic import op

from remit.db.types import Json, UtcDateTime

revision = "0006_periodic_tasks"
down_revision = "0005_ledger_no_truncate"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remit_periodic_tasks",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("schedule", sa.String(120), nullable=False),
        sa.Column("leader_only", sa.Boolean, nullable=False),
        sa.Column("queue", sa.String(64), nullable=True),
        sa.Column("last_tick", UtcDateTime, nullable=True),
        sa.Column("last_run_at", UtcDateTime, nullable=True),
        sa.Column("last_outcome", sa.String(16), nullable=True),
        sa.Column("last_counts", Json, nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("last_duration_s", sa.Float, nullable=True),
        sa.Column("next_run_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_remit_periodic_tasks"),
    )
    op.execute(
        "INSERT INTO remit_periodic_tasks (name, kind, schedule, leader_only, last_tick, last_run_at, last_outcome) "
        "SELECT name, 'cron', 'cron ' || expression, true, last_tick, last_tick, "
        "CASE WHEN last_tick IS NULL THEN NULL ELSE 'enqueued' END FROM remit_cron_entries"
    )
    op.drop_table("remit_cron_entries")


def downgrade() -> None:
    op.create_table(
        "remit_cron_entries",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("expression", sa.String(120), nullable=False),
        sa.Column("last_tick", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_remit_cron_entries"),
    )
    op.execute(
        "INSERT INTO remit_cron_entries (name, expression, last_tick) "
        "SELECT name, substr(schedule, 6), last_tick FROM remit_periodic_tasks WHERE kind = 'cron'"
    )
    op.drop_table("remit_periodic_tasks")
