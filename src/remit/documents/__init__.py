"""Invoice documents: the mirrored invoice and its lines, as HTML (Jinja2) and then PDF (WeasyPrint).

Modules: ``invoice`` (what a document shows, and its version digest; pure), ``amounts`` (money as people
read it; pure), ``render`` (the template, with host overrides by path), ``engine`` (the PDF engine, detected
once per process, and the "unavailable" answer), ``store`` (one stored document per invoice version),
``generate`` (:func:`ensure_document`, the one way to get a document), ``jobs`` (the job on
``remit_invoices`` and the handler that queues it on ``invoice.finalized`` and ``invoice.paid``). See
``docs/documents.md``.

:data:`PART` declares what the documents part brings to a runtime — its render job and its handler for
``invoice.finalized`` and ``invoice.paid`` (run after the mirror) — and :mod:`remit.parts` composes it.
Importing the package registers nothing.
"""

from remit.documents.engine import PdfEngine, PdfEngineUnavailable, RenderedPdf, UnavailableEngine, WeasyPrintEngine
from remit.documents.generate import (
    InvoiceNotFinalized,
    InvoiceNotFound,
    ensure_document,
    load_invoice,
    pdf_engine,
    use_pdf_engine,
)
from remit.documents.invoice import InvoiceView, invoice_view
from remit.documents.jobs import (
    DOCUMENT_EVENT_TYPES,
    DOCUMENTS_HANDLER,
    RENDER_JOB,
    queue_invoice_document,
    render_invoice_document,
)
from remit.documents.store import InvoiceDocument
from remit.part import Part

PART = Part(name="documents", jobs=(render_invoice_document,), event_handlers=(DOCUMENTS_HANDLER,))

__all__ = [
    "DOCUMENTS_HANDLER",
    "DOCUMENT_EVENT_TYPES",
    "PART",
    "RENDER_JOB",
    "InvoiceDocument",
    "InvoiceNotFinalized",
    "InvoiceNotFound",
    "InvoiceView",
    "PdfEngine",
    "PdfEngineUnavailable",
    "RenderedPdf",
    "UnavailableEngine",
    "WeasyPrintEngine",
    "ensure_document",
    "invoice_view",
    "load_invoice",
    "pdf_engine",
    "queue_invoice_document",
    "render_invoice_document",
    "use_pdf_engine",
]
