"""The document job on ``remit_invoices``, and the handler that queues it when an invoice is finalized or paid.

The job renders and stores the invoice's current version (:func:`~remit.documents.generate.ensure_document`),
so a receipt or a ``/pdf`` request later finds it ready. Without a PDF engine in this process the job is
cancelled — no retry can help until one is installed, and mail falls back to the hosted invoice link — and
a draft has nothing to render; any other error retries with backoff.
"""

from __future__ import annotations

from remit.documents.engine import PdfEngineUnavailable
from remit.documents.generate import InvoiceNotFinalized, ensure_document
from remit.handlers import EventHandler
from remit.jobs.context import JobContext
from remit.jobs.definition import UniqueBy, job
from remit.jobs.retry import Backoff
from remit.runtime import Runtime
from remit.webhooks.handlers import HandlerContext

RENDER_JOB = "remit.documents.render_invoice"
#: The name the handler's success is recorded under on each event row (keep it stable).
DOCUMENTS_HANDLER_NAME = "remit.documents"
#: The events after which an invoice's document changes.
DOCUMENT_EVENT_TYPES: tuple[str, ...] = ("invoice.finalized", "invoice.paid")


@job(
    queue="remit_invoices",
    name=RENDER_JOB,
    max_attempts=10,
    backoff=Backoff(base=10.0, factor=2.0, cap=1800.0, jitter=0.2),
    timeout=120.0,
    unique=UniqueBy("invoice_id"),
)
async def render_invoice_document(ctx: JobContext[Runtime], invoice_id: str) -> None:
    """Render and store the current version of invoice ``invoice_id``, unless it is stored already."""
    try:
        await ensure_document(ctx.app, invoice_id)
    except PdfEngineUnavailable:
        ctx.cancel("no PDF engine in this process (pdf_adapter_unavailable)")
    except InvoiceNotFinalized:
        ctx.cancel(f"invoice {invoice_id} is a draft: nothing to render")


async def queue_invoice_document(ctx: HandlerContext) -> None:
    """Handler for :data:`DOCUMENT_EVENT_TYPES`: queue the invoice's document, in the handler's transaction."""
    invoice_id = ctx.data_object.get("id")
    if isinstance(invoice_id, str) and invoice_id:
        await ctx.runtime.engine.enqueue(ctx.conn, render_invoice_document, {"invoice_id": invoice_id})


DOCUMENTS_HANDLER = EventHandler(DOCUMENTS_HANDLER_NAME, DOCUMENT_EVENT_TYPES, queue_invoice_document)


__all__ = [
    "DOCUMENTS_HANDLER",
    "DOCUMENTS_HANDLER_NAME",
    "DOCUMENT_EVENT_TYPES",
    "RENDER_JOB",
    "queue_invoice_document",
    "render_invoice_document",
]
