"""Making an invoice's document: read the mirror, render the current version unless it is stored, keep it.

:func:`ensure_document` is the one way in — for the job on ``remit_invoices``, the ``/pdf`` route, the CLI
and the receipt mail alike — so each version of an invoice is rendered and stored once whoever asks first.
It reads the mirror's tables directly (``remit_invoices`` and ``remit_invoice_lines``, whose complete line
list the mirror keeps even when the processor embeds only ten).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db.tables import invoice_lines, invoices
from remit.documents.engine import PdfEngine, WeasyPrintEngine
from remit.documents.invoice import InvoiceView, invoice_view
from remit.documents.render import invoice_pdf
from remit.documents.store import InvoiceDocument, get_document, store_document
from remit.errors import RemitError
from remit.runtime import Runtime

#: Where a runtime keeps its PDF engine (:attr:`Runtime.extensions`).
PDF_ENGINE = "documents.pdf_engine"


class InvoiceNotFound(RemitError):
    """The mirror holds no invoice with this id."""

    def __init__(self, invoice_id: str) -> None:
        self.invoice_id = invoice_id
        super().__init__(f"no invoice {invoice_id!r} in the mirror")


class InvoiceNotFinalized(RemitError):
    """The invoice is a draft (it can still change): it has no document yet."""

    def __init__(self, invoice_id: str, status: str) -> None:
        self.invoice_id = invoice_id
        self.status = status
        super().__init__(f"invoice {invoice_id!r} is {status}: a document is made once it is finalized")


def pdf_engine(runtime: Runtime) -> PdfEngine:
    """The runtime's PDF engine: WeasyPrint unless a host or a test put another one in its extensions."""
    engine = runtime.extensions.get(PDF_ENGINE)
    if engine is None:
        engine = runtime.extensions.setdefault(PDF_ENGINE, WeasyPrintEngine())
    return engine  # type: ignore[return-value]


def use_pdf_engine(runtime: Runtime, engine: PdfEngine) -> None:
    """Render this runtime's documents with ``engine`` (e.g. :class:`~remit.documents.engine.UnavailableEngine`)."""
    runtime.extensions[PDF_ENGINE] = engine


async def load_invoice(conn: AsyncConnection, invoice_id: str) -> InvoiceView:
    """The invoice as the mirror holds it now, with its complete lines; :class:`InvoiceNotFound` if absent."""
    row = (await conn.execute(sa.select(invoices.c.data).where(invoices.c.stripe_id == invoice_id))).first()
    if row is None:
        raise InvoiceNotFound(invoice_id)
    data: Mapping[str, Any] = row.data or {}
    lines_query = (
        sa.select(invoice_lines.c.data)
        .where(invoice_lines.c.invoice_id == invoice_id, sa.not_(invoice_lines.c.deleted))
        .order_by(invoice_lines.c.id)
    )
    lines = [line.data for line in (await conn.execute(lines_query)).all()]
    # A mirror that never projected the lines (an invoice only ever seen as a reference) still has the
    # embedded ones: use those rather than print an invoice of nothing.
    return invoice_view(data, lines or None)


async def ensure_document(runtime: Runtime, invoice_id: str) -> InvoiceDocument:
    """The stored document of the invoice's current version, rendered and stored now if it is not yet.

    Raises :class:`InvoiceNotFound`, :class:`InvoiceNotFinalized`, or
    :class:`~remit.documents.engine.PdfEngineUnavailable` when no PDF can be made in this process; any
    other exception is a rendering error worth retrying."""
    async with runtime.db.connect() as conn:
        view = await load_invoice(conn, invoice_id)
        if not view.has_document:
            raise InvoiceNotFinalized(invoice_id, view.status)
        version = view.version()
        stored = await get_document(conn, invoice_id, version)
    if stored is not None:
        return stored
    pdf = await asyncio.to_thread(invoice_pdf, view, pdf_engine(runtime), runtime.settings.template_dir)
    async with runtime.db.begin() as conn:
        return await store_document(conn, invoice_id, version, view.status, pdf, runtime.clock.now())


__all__ = [
    "PDF_ENGINE",
    "InvoiceNotFinalized",
    "InvoiceNotFound",
    "ensure_document",
    "load_invoice",
    "pdf_engine",
    "use_pdf_engine",
]
