"""The provisioning hand-off: the host's accounts as remit knows them, and one provisioning job per paid checkout.

``remit_accounts`` is the tenant a checkout pays for: its status (``pending`` → ``active`` → ``suspended``), its
package and token quota, and — once the orchestrator provisioned it — its deployment and cell. It holds no
name and no address: identifiers only.

``remit_provisioning_jobs`` holds exactly one row per settled checkout session (unique on
``stripe_session_id``), with the exact payload its trigger sends (NULL when remit could not resolve the
package: never a guess), its status (:data:`remit.provisioning.states.PROVISIONING_STATES`) and its attempts.
The partial index covers the open rows only, so the stuck gauge and the reconciler's scan cost what the open
rows cost, however many provisioned rows the table keeps. On PostgreSQL the jobs table keeps a tenth of each
page free (``fillfactor`` 90, migration 0020; not expressible here), so a job's updates stay on its page.
"""

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, UniqueConstraint, text

from remit.db.tables.base import metadata
from remit.db.types import BigId, Json, UtcDateTime

#: The statuses a job can still move out of on its own: what the gauge and the reconciler look at.
OPEN_STATUSES_SQL = "status IN ('enqueued', 'provisioning', 'failed')"

accounts = Table(
    "remit_accounts",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("customer_id", String(255), nullable=True),
    Column("package_slug", String(64), nullable=True),
    Column("tokens_quota", BigInteger, nullable=True),
    Column("deployment_id", String(255), nullable=True),
    Column("cell_id", String(255), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_remit_accounts_customer_id", accounts.c.customer_id)

provisioning_jobs = Table(
    "remit_provisioning_jobs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("stripe_session_id", String(255), nullable=False),
    Column("account_id", String(255), nullable=True),
    Column("status", String(16), nullable=False),
    Column("origin", String(16), nullable=False),
    Column("trigger_payload", Json, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(500), nullable=True),
    Column("last_attempt_at", UtcDateTime, nullable=True),
    Column("deployment_id", String(255), nullable=True),
    Column("cell_id", String(255), nullable=True),
    Column("tokens_quota", BigInteger, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("stripe_session_id"),
)
Index(
    "ix_remit_provisioning_jobs_open",
    provisioning_jobs.c.status,
    provisioning_jobs.c.updated_at,
    provisioning_jobs.c.attempts,
    postgresql_where=text(OPEN_STATUSES_SQL),
    sqlite_where=text(OPEN_STATUSES_SQL),
)
Index("ix_remit_provisioning_jobs_account_id", provisioning_jobs.c.account_id)
# The reconciler's claim order over the jobs it can replay, and the open jobs it cannot (migration 0019).
CLAIMABLE_SQL = f"{OPEN_STATUSES_SQL} AND trigger_payload IS NOT NULL"
NO_PAYLOAD_SQL = f"{OPEN_STATUSES_SQL} AND trigger_payload IS NULL"
Index(
    "ix_remit_provisioning_jobs_claimable",
    provisioning_jobs.c.created_at,
    provisioning_jobs.c.id,
    postgresql_where=text(CLAIMABLE_SQL),
    sqlite_where=text(CLAIMABLE_SQL),
)
Index(
    "ix_remit_provisioning_jobs_no_payload",
    provisioning_jobs.c.created_at,
    postgresql_where=text(NO_PAYLOAD_SQL),
    sqlite_where=text(NO_PAYLOAD_SQL),
)

__all__ = ["OPEN_STATUSES_SQL", "accounts", "provisioning_jobs"]
