"""The PDF engine is found out once per process, and its absence is one clean answer."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import pytest

from remit.documents import engine
from remit.documents.engine import PdfEngineUnavailable, UnavailableEngine, WeasyPrintEngine, weasyprint_problem


@pytest.fixture
def fresh_detection() -> Iterator[None]:
    weasyprint_problem.cache_clear()
    yield
    weasyprint_problem.cache_clear()


def test_without_weasyprint_the_engine_says_why_once(
    fresh_detection: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint → ImportError
    caplog.set_level(logging.WARNING, logger="remit.documents")
    pdf = WeasyPrintEngine()
    assert pdf.problem() == "ImportError: WeasyPrint is not installed (pip install 'remit[pdf]')"
    with pytest.raises(PdfEngineUnavailable) as unavailable:
        pdf.render("<p>x</p>")
    assert unavailable.value.reason == pdf.problem()
    assert WeasyPrintEngine().problem() == pdf.problem()
    assert [record.getMessage() for record in caplog.records].count(
        "pdf engine unavailable; invoice mail will link to the hosted invoice"
    ) == 1


def test_missing_system_libraries_are_an_unavailable_engine_too(
    fresh_detection: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Missing:
        class HTML:
            def __init__(self, **_: object) -> None:
                raise OSError("cannot load library 'libpango-1.0-0': /secret/path")

    monkeypatch.setitem(sys.modules, "weasyprint", Missing)
    problem = engine.weasyprint_problem()
    assert problem == "OSError: WeasyPrint's system libraries are missing (see the README)"
    assert "/secret/path" not in problem


def test_weasyprint_renders_here(fresh_detection: None) -> None:
    """scripts/test installs WeasyPrint and its libraries: the engine must work on this machine."""
    pdf = WeasyPrintEngine()
    assert pdf.problem() is None
    rendered = pdf.render("<html><body><p style='page-break-after: always'>one</p><p>two</p></body></html>")
    assert rendered.content.startswith(b"%PDF-")
    assert rendered.pages == 2


def test_an_unavailable_engine_never_renders() -> None:
    off = UnavailableEngine()
    assert off.problem() == "PDF rendering is switched off"
    with pytest.raises(PdfEngineUnavailable):
        off.render("<p>x</p>")


def test_every_render_of_the_process_shares_one_font_configuration(fresh_detection: None) -> None:
    """WeasyPrint makes a FontConfiguration per document unless given one, loading every font again; the engine
    keeps one for the process (docs/documents.md has the A/B figures), and documents stay whole with it."""
    first = WeasyPrintEngine().render("<html><body><p>one</p></body></html>")
    shared = WeasyPrintEngine._font_config
    assert shared is not None
    second = WeasyPrintEngine().render("<html><body><p style='page-break-after: always'>a</p><p>b</p></body></html>")
    assert WeasyPrintEngine._font_config is shared
    assert (first.pages, second.pages) == (1, 2)
