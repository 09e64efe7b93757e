"""The foundation: the job engine's tables and the operator audit log.

Revision ID: 0001_foundation
Revises:
"""

import sqlalchemy as sa
from alembic import op

from remit.db.types import BigId, Json, UtcDateTime

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None

RUNNABLE = "state IN ('available', 'scheduled', 'retryable')"
PENDING = "state IN ('available', 'scheduled', 'retryable', 'executing')"
FINISHED = "state IN ('completed', 'cancelled', 'discarded')"

# A statement-level trigger wakes listening workers once per insert statement and queue, after commit,
# without an extra round trip from the enqueuing code.
NOTIFY_FUNCTION = """
CREATE FUNCTION remit_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('remit_jobs', q.queue)
     FROM (SELECT DISTINCT queue FROM remit_new_jobs WHERE state = 'available') AS q;
  RETURN NULL;
END $$;
"""
NOTIFY_TRIGGER = """
CREATE TRIGGER remit_jobs_notify AFTER INSERT ON remit_jobs
  REFERENCING NEW TABLE AS remit_new_jobs
  FOR EACH STATEMENT EXECUTE FUNCTION remit_jobs_notify();
"""


def upgrade() -> None:
    op.create_table(
        "remit_jobs",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("args", Json, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("priority", sa.SmallInteger, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("unique_key", sa.String(255), nullable=True),
        sa.Column("scheduled_at", UtcDateTime, nullable=False),
        sa.Column("inserted_at", UtcDateTime, nullable=False),
        sa.Column("attempted_at", UtcDateTime, nullable=True),
        sa.Column("finished_at", UtcDateTime, nullable=True),
        sa.Column("attempted_by", sa.String(128), nullable=True),
        sa.Column("timeout", sa.Float, nullable=True),
        sa.Column("errors", Json, nullable=False),
        sa.Column("meta", Json, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_remit_jobs"),
    )
    op.create_index(
        "ix_remit_jobs_fetch",
        "remit_jobs",
        ["queue", "priority", "scheduled_at", "id"],
        postgresql_where=sa.text(RUNNABLE),
        sqlite_where=sa.text(RUNNABLE),
    )
    op.create_index(
        "ix_remit_jobs_unique_pending",
        "remit_jobs",
        ["unique_key"],
        unique=True,
        postgresql_where=sa.text(f"unique_key IS NOT NULL AND {PENDING}"),
        sqlite_where=sa.text(f"unique_key IS NOT NULL AND {PENDING}"),
    )
    op.create_index(
        "ix_remit_jobs_finished",
        "remit_jobs",
        ["finished_at"],
        postgresql_where=sa.text(FINISHED),
        sqlite_where=sa.text(FINISHED),
    )

    op.create_table(
        "remit_workers",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("queues", Json, nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("heartbeat_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_remit_workers"),
    )
    op.create_table(
        "remit_queue_states",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_remit_queue_states"),
    )
    op.create_table(
        "remit_leaders",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_remit_leaders"),
    )
    op.create_table(
        "remit_cron_entries",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("expression", sa.String(120), nullable=False),
        sa.Column("last_tick", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_remit_cron_entries"),
    )
    op.create_table(
        "remit_audit_log",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(255), nullable=True),
        sa.Column("details", Json, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_remit_audit_log"),
    )
    op.create_index("ix_remit_audit_log_at", "remit_audit_log", ["at"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY_FUNCTION)
        op.execute(NOTIFY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS remit_jobs_notify ON remit_jobs")
        op.execute("DROP FUNCTION IF EXISTS remit_jobs_notify()")
    op.drop_index("ix_remit_audit_log_at", table_name="remit_audit_log")
    op.drop_table("remit_audit_log")
    op.drop_table("remit_cron_entries")
    op.drop_table("remit_leaders")
    op.drop_table("remit_queue_states")
    op.drop_table("remit_workers")
    for index in ("ix_remit_jobs_finished", "ix_remit_jobs_unique_pending", "ix_remit_jobs_fetch"):
        op.drop_index(index, table_name="remit_jobs")
    op.drop_table("remit_jobs")
