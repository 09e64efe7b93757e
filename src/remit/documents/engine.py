"""The PDF engine: HTML in, PDF out — WeasyPrint when it can run here, and a clean answer when it cannot.

WeasyPrint is optional (the ``pdf`` extra) and needs system libraries (Pango, HarfBuzz, fontconfig) that a
host may lack. :func:`weasyprint_problem` finds out once per process — import it and render a probe page — and
says why it cannot run (``ImportError``, ``OSError: libpango…``) or None; the answer is cached, and logged
once. Callers meet :class:`PdfEngineUnavailable` for that case only: the mail part then links to the
processor's hosted invoice and emits ``pdf_adapter_unavailable``. Any other rendering error is an ordinary
exception, and the job that rendered retries.

Rendering is CPU-bound and synchronous: call :meth:`PdfEngine.render` through ``asyncio.to_thread``. One
render runs at a time per process (WeasyPrint's font machinery is not documented as thread-safe), and every
render of the process shares one ``FontConfiguration``: WeasyPrint otherwise builds a new one per document (a
fresh fontconfig set and Pango font map, so every font is loaded and measured again); sharing it made a 5-line
invoice's render 7 to 21 % shorter (A/B medians in docs/documents.md). It is only ever used under the lock.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from remit.errors import RemitError

log = logging.getLogger("remit.documents")

PDF_CONTENT_TYPE = "application/pdf"
_PROBE = "<html><body><p>remit</p></body></html>"


class PdfEngineUnavailable(RemitError):
    """No PDF can be made in this process (the engine or its libraries are missing); ``reason`` says which,
    as an exception class name and a short fixed phrase — never a path or a value."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"the PDF engine is unavailable: {reason}")


@dataclass(frozen=True, slots=True)
class RenderedPdf:
    content: bytes
    pages: int


class PdfEngine(Protocol):
    """Turns a whole HTML document into a PDF."""

    name: str

    def problem(self) -> str | None:
        """Why this engine cannot render here, or None when it can."""
        ...

    def render(self, html: str) -> RenderedPdf:
        """Render ``html``; :class:`PdfEngineUnavailable` when :meth:`problem` is not None."""
        ...


@functools.cache
def weasyprint_problem() -> str | None:
    """Why WeasyPrint cannot run in this process, or None; found out once (import and a probe render)."""
    try:
        import weasyprint

        weasyprint.HTML(string=_PROBE).write_pdf()
    except ImportError:
        problem = "ImportError: WeasyPrint is not installed (pip install 'remit[pdf]')"
    except OSError as exc:
        problem = f"{type(exc).__name__}: WeasyPrint's system libraries are missing (see the README)"
    except Exception as exc:
        problem = f"{type(exc).__name__}: WeasyPrint failed to render a probe page"
    else:
        return None
    log.warning("pdf engine unavailable; invoice mail will link to the hosted invoice", extra={"reason": problem})
    return problem


class WeasyPrintEngine:
    """WeasyPrint, checked once per process by :func:`weasyprint_problem`."""

    name = "weasyprint"
    _lock = threading.Lock()
    #: The process's one ``weasyprint.text.fonts.FontConfiguration``, made by the first render; used only
    #: under ``_lock``. ``@font-face`` fonts a template declares are added to it once and kept.
    _font_config: Any = None

    def problem(self) -> str | None:
        return weasyprint_problem()

    def render(self, html: str) -> RenderedPdf:
        problem = self.problem()
        if problem is not None:
            raise PdfEngineUnavailable(problem)
        import weasyprint

        with self._lock:
            font_config = WeasyPrintEngine._font_config
            if font_config is None:
                from weasyprint.text.fonts import FontConfiguration

                font_config = WeasyPrintEngine._font_config = FontConfiguration()
            document: Any = weasyprint.HTML(string=html).render(font_config=font_config)
            content: bytes = document.write_pdf()
        return RenderedPdf(content, len(document.pages))


class UnavailableEngine:
    """An engine that never renders: for a host that wants no PDFs, and for tests of the fallback."""

    name = "unavailable"

    def __init__(self, reason: str = "PDF rendering is switched off") -> None:
        self.reason = reason

    def problem(self) -> str | None:
        return self.reason

    def render(self, html: str) -> RenderedPdf:
        raise PdfEngineUnavailable(self.reason)


__all__ = [
    "PDF_CONTENT_TYPE",
    "PdfEngine",
    "PdfEngineUnavailable",
    "RenderedPdf",
    "UnavailableEngine",
    "WeasyPrintEngine",
    "weasyprint_problem",
]
