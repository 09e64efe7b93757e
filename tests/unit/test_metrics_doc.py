"""docs/operations.md's ``GET /metrics`` table lists exactly the series remit's registry declares, and stars
exactly its gauges: a ``remit worker`` serves everything but gauges (:mod:`remit.telemetry.exposition`), so a
gauge must be a database reading the ``serve`` processes report, never a count only one process knows."""

from __future__ import annotations

import re
from pathlib import Path

import remit.api.metrics
import remit.parts  # noqa: F401 - imports every part, as a runtime does
from remit.telemetry.exposition import DATABASE_READING
from remit.telemetry.metrics import REGISTRY

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def documented() -> dict[str, str]:
    """Series name (a counter with ``_total``) → its type cell, from the table of ``## `GET /metrics```."""
    section = DOC.read_text(encoding="utf-8").split("\n## `GET /metrics`\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].startswith("`remit_"):
            continue
        names = re.findall(r"`(remit_[a-z0-9_]+)`", cells[0])
        types = [kind.strip() for kind in cells[1].split(",")]
        for position, name in enumerate(names):
            rows[name] = types[min(position, len(types) - 1)]
    return rows


def declared() -> dict[str, str]:
    """Series name → ``counter``, ``histogram`` or ``gauge*`` (every gauge is a scrape-time reading)."""
    rows = {}
    for family in REGISTRY.collect():
        name = f"{family.name}_total" if family.type == "counter" else family.name
        rows[name] = "gauge*" if family.type == DATABASE_READING else family.type
    return rows


def test_the_table_lists_every_series_with_its_type_and_stars_exactly_the_gauges() -> None:
    assert documented() == declared()
