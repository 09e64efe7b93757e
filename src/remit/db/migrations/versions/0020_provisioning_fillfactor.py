"""The provisioning jobs table keeps a tenth of each page free (PostgreSQL ``fillfactor`` 90), so a job's updates
stay on its own page.

A job is updated a few times soon after it is written (each trigger attempt, its outcome, the callback's status
changes) and then never again. On full pages (the default, 100) every update moves the row to another page the
free-space map finds, dirtying it and clearing its visibility-map bit: the stuck gauge's index-only scan then
reads those pages back (at 1,000,000 jobs, every open row's page after a few reconciler runs), and no update can
be heap-only. With room on the page, an attempt's claim writes its new row version beside the old one, and its
outcome, which changes no indexed column (:func:`remit.provisioning.jobs_table.outcomes_statement`), is written
heap-only, without a new entry in any index. ``bench/provisioning.py`` measures the reconciler and the gauge.

It applies to pages written from now on: the rows that get updated are the new ones, so existing pages need no
rewrite. SQLite has no such setting; there this revision does nothing.

Revision ID: 0020_provisioning_fillfactor
Revises: 0019_provisioning_claim
"""

from alembic import op

revision = "0020_provisioning_fillfactor"
down_revision = "0019_provisioning_claim"
branch_labels = None
depends_on = None

TABLE = "remit_provisioning_jobs"
FILLFACTOR = 90


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {TABLE} SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {TABLE} RESET (fillfactor)")
