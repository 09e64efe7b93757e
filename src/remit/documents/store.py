"""Stored invoice documents: one row per (invoice, version), written once.

:func:`store_document` inserts with ``ON CONFLICT DO NOTHING`` and reads back whichever row holds the key,
so two renderers of one version (a retried job, a request racing the job) converge on one stored document.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db import dialect
from remit.db.tables import invoice_documents
from remit.documents.engine import PDF_CONTENT_TYPE, RenderedPdf


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """One rendered version of an invoice."""

    id: int
    invoice_id: str
    version: str
    invoice_status: str
    content_type: str
    content: bytes
    size_bytes: int
    pages: int
    sha256: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> InvoiceDocument:
        return cls(
            id=int(row["id"]),
            invoice_id=row["invoice_id"],
            version=row["version"],
            invoice_status=row["invoice_status"],
            content_type=row["content_type"],
            content=bytes(row["content"]),
            size_bytes=int(row["size_bytes"]),
            pages=int(row["pages"]),
            sha256=row["sha256"],
            created_at=row["created_at"],
        )

    def to_json(self) -> dict[str, Any]:
        """Everything but the content."""
        return {
            "id": self.id,
            "invoice_id": self.invoice_id,
            "version": self.version,
            "invoice_status": self.invoice_status,
            "content_type": self.content_type,
            "size_bytes": self.size_bytes,
            "pages": self.pages,
            "sha256": self.sha256,
            "created_at": self.created_at.isoformat(),
        }


async def get_document(conn: AsyncConnection, invoice_id: str, version: str) -> InvoiceDocument | None:
    table = invoice_documents
    row = (
        (await conn.execute(sa.select(table).where(table.c.invoice_id == invoice_id, table.c.version == version)))
        .mappings()
        .first()
    )
    return None if row is None else InvoiceDocument.from_row(row)


async def count_documents(conn: AsyncConnection, invoice_id: str) -> int:
    """How many versions of the invoice are stored."""
    table = invoice_documents
    query = sa.select(sa.func.count()).select_from(table).where(table.c.invoice_id == invoice_id)
    return int((await conn.execute(query)).scalar_one())


async def store_document(
    conn: AsyncConnection, invoice_id: str, version: str, invoice_status: str, pdf: RenderedPdf, now: datetime
) -> InvoiceDocument:
    """Keep ``pdf`` as version ``version`` of the invoice, unless that version is stored already; either way,
    the stored document."""
    table = invoice_documents
    values = {
        "invoice_id": invoice_id,
        "version": version,
        "invoice_status": invoice_status,
        "content_type": PDF_CONTENT_TYPE,
        "content": pdf.content,
        "size_bytes": len(pdf.content),
        "pages": pdf.pages,
        "sha256": hashlib.sha256(pdf.content).hexdigest(),
        "created_at": now,
    }
    await conn.execute(
        dialect.insert(conn, table).values(values).on_conflict_do_nothing(index_elements=["invoice_id", "version"])
    )
    stored = await get_document(conn, invoice_id, version)
    assert stored is not None  # inserted now, or by the one that won the conflict; rows are never deleted
    return stored


__all__ = ["InvoiceDocument", "count_documents", "get_document", "store_document"]
