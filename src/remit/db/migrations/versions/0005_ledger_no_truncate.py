"""The ledger refuses TRUNCATE on PostgreSQL too.

Row triggers (0003) do not see ``TRUNCATE``, which empties a table without deleting its rows one by one, and
the role remit runs as owns its tables (``remit up`` migrates them), so it may truncate them: one stray
``TRUNCATE … CASCADE`` in a reset script would erase the billing history the ledger exists to keep. A
statement-level ``BEFORE TRUNCATE`` trigger on the same function refuses it with
``remit_ledger_events is append-only: TRUNCATE refused``. SQLite has no TRUNCATE: its ``DELETE`` without a
``WHERE`` fires the delete trigger, as triggers switch off its truncate optimisation.

Revision ID: 0005_ledger_no_truncate
Revises: 0004_fake_processor
"""

from alembic import op

revision = "0005_ledger_no_truncate"
down_revision = "0004_fake_processor"
branch_labels = None
depends_on = None

LEDGER = "remit_ledger_events"
TRIGGER = "remit_ledger_events_no_truncate"

# The function from 0003 raises for whatever operation fired it (TG_OP), statement- or row-level alike.
PG_TRIGGER = f"""
CREATE TRIGGER {TRIGGER} BEFORE TRUNCATE ON {LEDGER}
  FOR EACH STATEMENT EXECUTE FUNCTION remit_ledger_events_append_only();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {LEDGER}")
