"""Invoice HTML from its template, its stylesheet, and the PDF from the two.

Templates are Jinja2 with autoescaping (a line description is text a person typed, never markup). A host
overrides any of them by path: with ``REMIT_TEMPLATE_DIR=/srv/billing/templates``, a file
``/srv/billing/templates/documents/invoice.html`` is used instead of remit's own ``invoice.html``; whatever
the host does not override comes from remit.

The invoice's styles live in ``invoice.css``, plain CSS beside the template rather than inside it, so the engine
parses them once per process instead of once per invoice (docs/documents.md has the A/B figures). The sheet
belongs to the page it was written for: remit's ``invoice.html`` gets the host's ``invoice.css`` if there is
one and remit's otherwise; a host's ``invoice.html`` gets the host's ``invoice.css`` or none, so a host page
written with its own ``<style>`` renders exactly as before.
"""

from __future__ import annotations

import functools
import os
from importlib import resources
from typing import TYPE_CHECKING

from remit.documents.engine import PdfEngine, RenderedPdf
from remit.documents.invoice import InvoiceView

if TYPE_CHECKING:
    import jinja2

#: The template of the invoice document, by its path under ``documents/``.
INVOICE_TEMPLATE = "invoice.html"
#: Its stylesheet, by its path under ``documents/``.
INVOICE_STYLESHEET = "invoice.css"


@functools.cache
def template_environment(template_dir: str | None = None) -> jinja2.Environment:
    """The documents' templates: ``template_dir``/documents first (the host's overrides), then remit's."""
    import jinja2  # here: the runtime imports this module, and most processes never render a template

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
    return _invoice_template(template_dir).render(invoice=view)


def _invoice_template(template_dir: str | None) -> jinja2.Template:
    return template_environment(template_dir).get_template(INVOICE_TEMPLATE)


@functools.cache
def _packaged_stylesheet() -> str:
    return resources.files("remit.documents").joinpath("templates", INVOICE_STYLESHEET).read_text("utf-8")


def _stylesheets_for(page: jinja2.Template, template_dir: str | None) -> tuple[str, ...]:
    """Whose page it is is told by the template Jinja loaded, not by what is on disk now: Jinja keeps remit's
    page while it is up to date, so a host page added while remit runs is used only after a restart, and
    until then remit's page must keep its stylesheet."""
    if template_dir:
        host = os.path.join(template_dir, "documents")
        try:
            with open(os.path.join(host, INVOICE_STYLESHEET), encoding="utf-8") as sheet:
                return (sheet.read(),)
        except FileNotFoundError:
            pass
        if page.filename is not None and os.path.dirname(os.path.abspath(page.filename)) == os.path.abspath(host):
            return ()
    return (_packaged_stylesheet(),)


def invoice_pdf(view: InvoiceView, engine: PdfEngine, template_dir: str | None = None) -> RenderedPdf:
    """The invoice document as a PDF (CPU-bound: call through ``asyncio.to_thread`` from async code); the page
    and its stylesheets from the one template loaded."""
    page = _invoice_template(template_dir)
    return engine.render(page.render(invoice=view), _stylesheets_for(page, template_dir))


__all__ = [
    "INVOICE_STYLESHEET",
    "INVOICE_TEMPLATE",
    "invoice_html",
    "invoice_pdf",
    "template_environment",
]
