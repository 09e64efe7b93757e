"""Invoice documents: the PDF of each invoice version, rendered once and kept.

A version is a digest of everything the document shows (:func:`remit.documents.invoice.InvoiceView.version`),
so an invoice that was finalized and later paid has two documents, and rendering the same version twice — a
retried job, two workers, a request racing the job — stores one row: ``(invoice_id, version)`` is unique and
the insert is ``ON CONFLICT DO NOTHING``, never a check-then-insert.
"""

from sqlalchemy import Column, Index, Integer, LargeBinary, String, Table, UniqueConstraint

from remit.db.tables.base import metadata
from remit.db.types import BigId, UtcDateTime

invoice_documents = Table(
    "remit_invoice_documents",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("invoice_id", String(255), nullable=False),
    Column("version", String(64), nullable=False),
    Column("invoice_status", String(32), nullable=False),
    Column("content_type", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("pages", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("invoice_id", "version"),
)
Index(
    "ix_remit_invoice_documents_invoice_id_created_at", invoice_documents.c.invoice_id, invoice_documents.c.created_at
)

__all__ = ["invoice_documents"]
