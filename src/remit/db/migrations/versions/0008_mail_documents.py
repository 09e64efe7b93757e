"""Invoice documents (a PDF per invoice version), the mail log and the development outbox.

Revision ID: 0008_mail_documents
Revises: 0007_credential_expiries
"""

import sqlalchemy as sa
from alembic import op

from remit.db.types import BigId, Json, UtcDateTime

revision = "0008_mail_documents"
down_revision = "0007_credential_expiries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remit_invoice_documents",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("invoice_id", sa.String(255), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("invoice_status", sa.String(32), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("pages", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_remit_invoice_documents"),
        sa.UniqueConstraint("invoice_id", "version", name="uq_remit_invoice_documents_invoice_id_version"),
    )
    op.create_index(
        "ix_remit_invoice_documents_invoice_id_created_at", "remit_invoice_documents", ["invoice_id", "created_at"]
    )

    op.create_table(
        "remit_mail",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(255), nullable=False),
        sa.Column("customer_id", sa.String(255), nullable=True),
        sa.Column("params", Json, nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("deliveries", sa.Integer, nullable=False),
        sa.Column("transport", sa.String(16), nullable=True),
        sa.Column("attachment", sa.String(16), nullable=True),
        sa.Column("last_error", Json, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("sending_at", UtcDateTime, nullable=True),
        sa.Column("sent_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_remit_mail"),
        sa.UniqueConstraint("key", name="uq_remit_mail_key"),
    )
    op.create_index("ix_remit_mail_state_created_at", "remit_mail", ["state", "created_at"])
    op.create_index("ix_remit_mail_customer_id", "remit_mail", ["customer_id"])

    op.create_table(
        "remit_mail_outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("message", sa.LargeBinary, nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("stored_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_remit_mail_outbox"),
        sa.UniqueConstraint("message_id", name="uq_remit_mail_outbox_message_id"),
    )


def downgrade() -> None:
    op.drop_table("remit_mail_outbox")
    op.drop_index("ix_remit_mail_customer_id", table_name="remit_mail")
    op.drop_index("ix_remit_mail_state_created_at", table_name="remit_mail")
    op.drop_table("remit_mail")
    op.drop_index("ix_remit_invoice_documents_invoice_id_created_at", table_name="remit_invoice_documents")
    op.drop_table("remit_invoice_documents")
