"""The PDF engine: HTML in, PDF out — WeasyPrint when it can run here, and a clean answer when it cannot.

WeasyPrint is optional (the ``pdf`` extra) and needs system libraries (Pango, HarfBuzz, fontconfig) that a
host may lack. :func:`weasyprint_problem` finds out once per process — import it and render a probe page — and
says why it cannot run (``ImportError``, ``OSError: libpango…``) or None; the answer is cached, and logged
once. Callers meet :class:`PdfEngineUnavailable` for that case only: the mail part then links to the
processor's hosted invoice and emits ``pdf_adapter_unavailable``. Any other rendering error is an ordinary
exception, and the job that rendered retries.

Rendering is CPU-bound and synchronous: call :meth:`PdfEngine.render` through ``asyncio.to_thread``. One
render runs at a time per process (WeasyPrint's font machinery is not documented as thread-safe), and what
does not change between documents is made once per process and used only under that lock: one
``FontConfiguration`` (WeasyPrint otherwise builds a fresh fontconfig set and Pango font map per document, so
every font is loaded and measured again) and each stylesheet, parsed and its selectors compiled on its first
use. The cyclic garbage collector is paused for the length of a render: a document is tens of thousands of
short-lived objects, and left running the collector walks them, and the whole process's heap, several times a
render; what the render leaves is collected as usual once it is back on. docs/documents.md has the A/B figures.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from remit.errors import RemitError

log = logging.getLogger("remit.documents")

PDF_CONTENT_TYPE = "application/pdf"
_PROBE = "<html><body><p>remit</p></body></html>"
#: Parsed stylesheets kept per process; more distinct sheets than this (a host editing its invoice.css while
#: running) start the cache afresh rather than grow it.
_STYLESHEET_CACHE_SIZE = 16


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

    def render(self, html: str, stylesheets: Sequence[str] = ()) -> RenderedPdf:
        """Render ``html`` with ``stylesheets`` (CSS text, applied under the page's own styles) added;
        :class:`PdfEngineUnavailable` when :meth:`problem` is not None."""
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


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the block, and back as it was after (another pause may hold it)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class WeasyPrintEngine:
    """WeasyPrint, checked once per process by :func:`weasyprint_problem`."""

    name = "weasyprint"
    _lock = threading.Lock()
    #: The process's one ``weasyprint.text.fonts.FontConfiguration``, made by the first render; used only
    #: under ``_lock``. ``@font-face`` fonts a template declares are added to it once and kept.
    _font_config: Any = None
    #: Parsed ``weasyprint.CSS`` by their text, made with ``_font_config``; used only under ``_lock``.
    _stylesheets: dict[str, Any] = {}

    def problem(self) -> str | None:
        return weasyprint_problem()

    def render(self, html: str, stylesheets: Sequence[str] = ()) -> RenderedPdf:
        problem = self.problem()
        if problem is not None:
            raise PdfEngineUnavailable(problem)
        import weasyprint

        with self._lock, _collector_paused():
            font_config = WeasyPrintEngine._font_config
            if font_config is None:
                from weasyprint.text.fonts import FontConfiguration

                font_config = WeasyPrintEngine._font_config = FontConfiguration()
            sheets = [self._parsed(text, font_config) for text in stylesheets]
            document: Any = weasyprint.HTML(string=html).render(font_config=font_config, stylesheets=sheets)
            content: bytes = document.write_pdf()
        return RenderedPdf(content, len(document.pages))

    @staticmethod
    def _parsed(text: str, font_config: Any) -> Any:
        """``text`` as a ``weasyprint.CSS``, parsed on its first use in this process (called under ``_lock``)."""
        cache = WeasyPrintEngine._stylesheets
        sheet = cache.get(text)
        if sheet is None:
            import weasyprint

            if len(cache) >= _STYLESHEET_CACHE_SIZE:
                cache.clear()
            sheet = cache[text] = weasyprint.CSS(string=text, font_config=font_config)
        return sheet


class UnavailableEngine:
    """An engine that never renders: for a host that wants no PDFs, and for tests of the fallback."""

    name = "unavailable"

    def __init__(self, reason: str = "PDF rendering is switched off") -> None:
        self.reason = reason

    def problem(self) -> str | None:
        return self.reason

    def render(self, html: str, stylesheets: Sequence[str] = ()) -> RenderedPdf:
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
