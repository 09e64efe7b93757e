"""Every table remit owns, on one :data:`metadata`, one module per part.

Each part declares its tables in its own module here and its own Alembic revision; the migration test checks
that upgrading an empty database yields exactly these tables.
"""

from remit.db.tables.base import metadata
from remit.db.tables.jobs import audit_log, cron_entries, jobs, leaders, queue_states, workers

__all__ = ["audit_log", "cron_entries", "jobs", "leaders", "metadata", "queue_states", "workers"]
