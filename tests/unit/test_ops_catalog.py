"""The ops event catalog is whole: code and ``docs/ops-events.md`` agree, every event is counted, every event is
emitted somewhere in ``src/`` with only the fields its entry declares, and every event has its runbook page."""

from __future__ import annotations

import ast
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from remit.telemetry import ops
from remit.telemetry.metrics import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "remit"
DOC = ROOT / "docs" / "ops-events.md"


@dataclass(frozen=True)
class EmitSite:
    """One ``ops.emit("name", ...)`` call: where, which event, which keyword fields (``**`` spreads left out)."""

    where: str
    name: str | None
    fields: frozenset[str]


def emit_sites(source: str, where: str) -> list[EmitSite]:
    """Every call of ``ops.emit`` (or ``emit`` imported from the ops module) in ``source``; ``name`` is None
    when the event name is not a string literal (which the catalog test refuses)."""
    sites = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        is_emit = (isinstance(func, ast.Attribute) and func.attr == "emit" and _is_ops(func.value)) or (
            isinstance(func, ast.Name) and func.id == "emit" and "from remit.telemetry.ops import" in source
        )
        if not is_emit:
            continue
        first = node.args[0] if node.args else None
        name = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
        fields = frozenset(keyword.arg for keyword in node.keywords if keyword.arg is not None)
        sites.append(EmitSite(f"{where}:{node.lineno}", name, fields))
    return sites


def _is_ops(value: ast.expr) -> bool:
    return isinstance(value, ast.Name) and value.id == "ops"


def all_emit_sites() -> list[EmitSite]:
    return [
        site
        for path in sorted(SRC.rglob("*.py"))
        if path.name != "ops.py" or path.parent.name != "telemetry"
        for site in emit_sites(path.read_text(), str(path.relative_to(ROOT)))
    ]


def documented() -> dict[str, dict[str, str]]:
    """The catalog as ``docs/ops-events.md`` has it: per ``### `name` `` section, its table's rows."""
    sections = re.split(r"^### `([^`]+)`\n", DOC.read_text(), flags=re.MULTILINE)
    found = {}
    for name, body in zip(sections[1::2], sections[2::2], strict=True):
        rows = re.findall(r"^\| ([a-z ]+) \| (.*) \|$", body.split("\n## ")[0], flags=re.MULTILINE)
        found[name] = dict(rows)
    return found


def _names(cell: str) -> tuple[str, ...]:
    return () if cell == "none" else tuple(re.findall(r"`([^`]+)`", cell))


def test_the_document_and_the_code_list_the_same_events_with_the_same_entries() -> None:
    doc = documented()
    assert list(doc) == list(ops.CATALOG)
    for name, spec in ops.CATALOG.items():
        rows = doc[name]
        assert rows["level"] == logging.getLevelName(spec.level).lower(), name
        assert rows["when"] == spec.when, name
        assert _names(rows["measurements"]) == spec.measurements, name
        assert _names(rows["metadata"]) == spec.metadata, name
        assert rows["first action"] == spec.first_action, name
        assert rows["runbook"] == f"[{spec.runbook}](runbooks/{spec.runbook})", name


def test_every_event_is_counted_under_its_own_label() -> None:
    for name in ops.CATALOG:
        before = REGISTRY.get_sample_value("remit_ops_events_total", {"event": name}) or 0.0
        ops.emit(name)
        assert REGISTRY.get_sample_value("remit_ops_events_total", {"event": name}) == before + 1, name


def test_every_event_in_the_catalog_is_emitted_somewhere_and_nothing_else_is() -> None:
    sites = all_emit_sites()
    assert [site.where for site in sites if site.name is None] == []  # names are literals, so this test can see
    emitted = {site.name for site in sites}
    assert sorted(set(ops.CATALOG) - emitted) == [], "in the catalog, emitted nowhere"
    assert sorted(emitted - set(ops.CATALOG)) == [], "emitted, not in the catalog"


def test_every_emit_passes_only_fields_its_entry_declares_and_every_field_is_allowed() -> None:
    undeclared = [
        (site.where, sorted(site.fields - ops.CATALOG[site.name].fields))
        for site in all_emit_sites()
        if site.name in ops.CATALOG and not site.fields <= ops.CATALOG[site.name].fields
    ]
    assert undeclared == []
    for spec in ops.CATALOG.values():
        assert spec.fields <= ops.ALLOWED_FIELDS, spec.name


def test_every_event_has_its_runbook_page() -> None:
    missing = [spec.runbook_path for spec in ops.CATALOG.values() if not (ROOT / spec.runbook_path).is_file()]
    assert missing == []


def test_the_scan_sees_what_it_must_refuse() -> None:
    source = 'from remit.telemetry import ops\nops.emit("nope", event_id=1, email=x)\nops.emit(name)\n'
    sites = emit_sites(source, "x.py")
    assert [(site.name, sorted(site.fields)) for site in sites] == [("nope", ["email", "event_id"]), (None, [])]


def test_emit_drops_undeclared_and_unsafe_fields_and_a_failing_sink_is_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[dict[str, object]] = []

    def broken(_name: str, _fields: dict[str, object]) -> None:
        raise RuntimeError("sink down")

    remove_broken = ops.add_sink(broken)
    remove_seen = ops.add_sink(lambda _name, fields: seen.append(fields))
    try:
        kept = ops.emit("jobs.discarded", job_id=7, queue="q", customer_id="cus_1", job_name=["not", "scalar"])
    finally:
        remove_broken()
        remove_seen()
    assert kept == {"job_id": 7, "queue": "q"}  # customer_id is allowed, but not declared for this event
    assert seen == [kept]
    assert "ops event sink failed" in caplog.text
    with pytest.raises(KeyError):
        ops.emit("not.in.the.catalog")
