"""``docs/runbooks/``: every page has the shape the index promises (what it means, a read-only confirmation, the
decision, the fix, how to verify, when to escalate, in that order), and the index names, for each page, exactly
the alerts whose ``runbook_url`` and the ops events whose catalog entry point at it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from remit.telemetry.ops import CATALOG, RUNBOOKS

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / RUNBOOKS
INDEX = PAGES / "README.md"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
SECTIONS = ("What it means", "Confirm (read-only)", "Decide", "Fix", "Verify", "Escalate")


def pages() -> list[Path]:
    return sorted(path for path in PAGES.glob("*.md") if path != INDEX)


def sections(text: str) -> list[str]:
    """The page's second-level headings, in order."""
    return re.findall(r"^## (.+?)\s*$", text, flags=re.MULTILINE)


def index_rows(text: str) -> dict[str, tuple[set[str], set[str]]]:
    """The index's table: page → (alerts, ops events) as the index lists them."""
    rows = {}
    for page, alerts, events in re.findall(r"^\| \[([^\]]+)\]\([^)]+\) \|(.*?)\|(.*?)\|$", text, re.M):
        rows[page] = (set(re.findall(r"`([^`]+)`", alerts)), set(re.findall(r"`([^`]+)`", events)))
    return rows


def test_every_page_has_each_section_once_in_order() -> None:
    wrong = {}
    for page in pages():
        found = [name for name in sections(page.read_text()) if name in SECTIONS]
        if found != list(SECTIONS):
            wrong[page.name] = found
    assert wrong == {}


def test_the_index_lists_every_page_with_the_alerts_and_events_that_point_at_it() -> None:
    alerts: dict[str, set[str]] = {}
    for group in yaml.safe_load(ALERTS.read_text())["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                page = rule["annotations"]["runbook_url"].removeprefix(f"{RUNBOOKS}/")
                alerts.setdefault(page, set()).add(rule["alert"])
    events: dict[str, set[str]] = {}
    for spec in CATALOG.values():
        events.setdefault(spec.runbook, set()).add(spec.name)
    expected = {page.name: (alerts.get(page.name, set()), events.get(page.name, set())) for page in pages()}
    assert index_rows(INDEX.read_text()) == expected


def test_the_checks_read_headings_and_index_rows_with_empty_cells() -> None:
    assert sections("# T\n\n## What it means\n\nx\n### Sub\n## Fix \n") == ["What it means", "Fix"]
    table = "| [a.md](a.md) | | `e1` |\n| [b.md](b.md) | `A1`, `A2` | |\n"
    assert index_rows(table) == {"a.md": (set(), {"e1"}), "b.md": ({"A1", "A2"}, set())}
