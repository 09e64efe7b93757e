"""Tables of the job engine: jobs, live workers, queue pause state, leadership, periodic tasks."""

from sqlalchemy import Boolean, Column, Float, Index, Integer, SmallInteger, String, Table, text

from remit.db.tables.base import metadata
from remit.db.types import BigId, Json, UtcDateTime

#: States from which a job may still run; the unique index and the fetch index cover exactly these.
PENDING_STATES_SQL = "state IN ('available', 'scheduled', 'retryable', 'executing')"
RUNNABLE_STATES_SQL = "state IN ('available', 'scheduled', 'retryable')"
FINISHED_STATES_SQL = "state IN ('completed', 'cancelled', 'discarded')"

jobs = Table(
    "remit_jobs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("queue", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("args", Json, nullable=False),
    Column("state", String(16), nullable=False),
    Column("priority", SmallInteger, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("unique_key", String(255), nullable=True),
    Column("scheduled_at", UtcDateTime, nullable=False),
    Column("inserted_at", UtcDateTime, nullable=False),
    Column("attempted_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("attempted_by", String(128), nullable=True),
    Column("timeout", Float, nullable=True),
    Column("errors", Json, nullable=False),
    Column("meta", Json, nullable=False),
)
Index(
    "ix_remit_jobs_fetch",
    jobs.c.queue,
    jobs.c.priority,
    jobs.c.scheduled_at,
    jobs.c.id,
    postgresql_where=text(RUNNABLE_STATES_SQL),
    sqlite_where=text(RUNNABLE_STATES_SQL),
)
Index(
    "ix_remit_jobs_unique_pending",
    jobs.c.unique_key,
    unique=True,
    postgresql_where=text(f"unique_key IS NOT NULL AND {PENDING_STATES_SQL}"),
    sqlite_where=text(f"unique_key IS NOT NULL AND {PENDING_STATES_SQL}"),
)
# Pruning finds old finished jobs here. Deliberately no index covers 'executing' or state in general: every
# claim and completion would write an entry into it (and leave a dead one behind), and the completion
# statement would be tempted to walk those dead entries instead of the primary key. Rescue, which looks for
# executing jobs, runs a few times a minute on the leader only and can afford a scan.
Index(
    "ix_remit_jobs_finished",
    jobs.c.finished_at,
    postgresql_where=text(FINISHED_STATES_SQL),
    sqlite_where=text(FINISHED_STATES_SQL),
)

workers = Table(
    "remit_workers",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("queues", Json, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
    # The ids of the runs the worker held at its last heartbeat (running, or with an outcome still to write),
    # and the instant that list is complete for: a run claimed before it and not listed is not held (a claim
    # whose commit the worker never heard of), and rescue returns it although the worker is alive.
    Column("running", Json, nullable=True),
    Column("running_as_of", UtcDateTime, nullable=True),
)

queue_states = Table(
    "remit_queue_states",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("paused", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(128), nullable=False),
)

leaders = Table(
    "remit_leaders",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

#: One row per periodic task and cron entry the scheduler has run: ``last_tick`` is the tick last claimed (the
#: compare-and-set that makes a leader-only tick run once), the rest is what ``remit schedule list`` shows.
periodic_tasks = Table(
    "remit_periodic_tasks",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("schedule", String(120), nullable=False),
    Column("leader_only", Boolean, nullable=False),
    Column("queue", String(64), nullable=True),
    Column("last_tick", UtcDateTime, nullable=True),
    Column("last_run_at", UtcDateTime, nullable=True),
    Column("last_outcome", String(16), nullable=True),
    Column("last_counts", Json, nullable=True),
    Column("last_error", String(200), nullable=True),
    Column("last_duration_s", Float, nullable=True),
    Column("next_run_at", UtcDateTime, nullable=True),
)
