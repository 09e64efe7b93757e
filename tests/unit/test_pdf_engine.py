"""The PDF engine is found out once per process, and its absence is one clean answer."""

from __future__ import annotations

import gc
import io
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pypdf
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


def page_size_mm(content: bytes) -> tuple[int, int]:
    box = pypdf.PdfReader(io.BytesIO(content)).pages[0].mediabox
    return round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)


def test_a_stylesheet_applies_under_the_pages_own_styles(fresh_detection: None) -> None:
    """Stylesheets come in as user sheets: they style the page, and the page's own <style> wins over them."""
    pdf = WeasyPrintEngine()
    sheet = "@page { size: A5 } p { page-break-after: always }"
    styled = pdf.render("<html><body><p>one</p><p>two</p></body></html>", [sheet])
    assert (page_size_mm(styled.content), styled.pages) == ((148, 210), 2)
    own = "<html><head><style>@page { size: A6 } p { page-break-after: auto }</style></head><body><p>a</p><p>b</p>"
    overridden = pdf.render(own, [sheet])
    assert (page_size_mm(overridden.content), overridden.pages) == ((105, 148), 1)
    plain = pdf.render("<html><body><p>one</p><p>two</p></body></html>")
    assert (page_size_mm(plain.content), plain.pages) == ((210, 297), 1)


def test_a_stylesheet_is_parsed_once_per_process_and_the_cache_stays_bounded(
    fresh_detection: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import weasyprint

    monkeypatch.setattr(WeasyPrintEngine, "_stylesheets", {})
    parsed: list[str] = []
    real = weasyprint.CSS

    def counting(*args: Any, **kwargs: Any) -> Any:
        parsed.append(kwargs["string"])
        return real(*args, **kwargs)

    monkeypatch.setattr(weasyprint, "CSS", counting)
    pdf = WeasyPrintEngine()
    for _ in range(3):
        pdf.render("<p>x</p>", ["p { color: red }"])
    assert parsed == ["p { color: red }"]
    for n in range(engine._STYLESHEET_CACHE_SIZE + 5):
        pdf.render("<p>x</p>", [f"p {{ margin: {n}px }}"])
    assert 0 < len(WeasyPrintEngine._stylesheets) <= engine._STYLESHEET_CACHE_SIZE


@pytest.mark.parametrize("enabled", [True, False])
def test_a_render_pauses_the_garbage_collector_and_leaves_it_as_it_found_it(
    fresh_detection: None, monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    """The collector is off while a render runs (engine docstring), back on after it — even when the render
    fails — and never switched on for a process that had it off."""
    import weasyprint

    seen: list[bool] = []
    real = weasyprint.HTML

    class Watched:
        def __init__(self, *, string: str) -> None:
            self.html = real(string=string)

        def render(self, **options: Any) -> Any:
            seen.append(gc.isenabled())
            if "fail" in self.html.etree_element.findtext(".//p", ""):
                raise RuntimeError("the renderer crashed")
            return self.html.render(**options)

    assert WeasyPrintEngine().problem() is None  # the probe render, before the watch
    monkeypatch.setattr(weasyprint, "HTML", Watched)
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        assert WeasyPrintEngine().render("<p>x</p>").pages == 1
        assert gc.isenabled() is enabled
        with pytest.raises(RuntimeError):
            WeasyPrintEngine().render("<p>fail</p>")
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
    assert seen == [False, False]
