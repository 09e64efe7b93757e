"""Invoice HTML from its template, and the PDF from that HTML.

Templates are Jinja2 with autoescaping (a line description is text a person typed, never markup). A host
overrides any of them by path: with ``REMIT_TEMPLATE_DIR=/srv/billing/templates``, a file
``/srv/billing/templates/documents/invoice.html`` is used instead of remit's own ``invoice.html``; whatever
the host does not override comes from remit.
"""

from __future__ import annotations

import functools
import os

import jinja2

from remit.documents.engine import PdfEngine, RenderedPdf
from remit.documents.invoice import InvoiceView

#: The template of the invoice document, by its path under ``documents/``.
INVOICE_TEMPLATE = "invoice.html"


@functools.cache
def template_environment(template_dir: str | None = None) -> jinja2.Environment:
    """The documents' templates: ``template_dir``/documents first (the host's overrides), then remit's."""
    loaders: list[jinja2.BaseLoader] = []
    if template_dir:
        loaders.append(jinja2.FileSystemLoader(os.path.join(template_dir, "documents")))
    loaders.append(jinja2.PackageLoader("remit.documents", "templates"))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def invoice_html(view: InvoiceView, template_dir: str | None = None) -> str:
    """The invoice document as one HTML page."""
    return template_environment(template_dir).get_template(INVOICE_TEMPLATE).render(invoice=view)


def invoice_pdf(view: InvoiceView, engine: PdfEngine, template_dir: str | None = None) -> RenderedPdf:
    """The invoice document as a PDF (CPU-bound: call through ``asyncio.to_thread`` from async code)."""
    return engine.render(invoice_html(view, template_dir))


__all__ = ["INVOICE_TEMPLATE", "invoice_html", "invoice_pdf", "template_environment"]
