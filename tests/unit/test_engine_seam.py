"""The job engine's tables are written and read through the engine only: ``remit.jobs.Engine`` is the seam.

Outside ``jobs/`` (the engine) and ``db/`` (the schema), no source file names the engine's tables in SQL or
imports their SQLAlchemy objects. Prometheus metric names (``remit_jobs_executed_total`` …) are words of their
own and do not count.
"""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "remit"
OWNERS = ("jobs", "db")
TABLE_NAMES = re.compile(r"\bremit_(jobs|workers|queue_states|leaders|periodic_tasks)\b")
TABLE_IMPORTS = re.compile(
    r"from remit\.db\.tables(\.jobs)? import [^\n]*\b(jobs|workers|queue_states|leaders|periodic_tasks)\b"
)


def outside_the_engine() -> list[Path]:
    return [path for path in SRC.rglob("*.py") if path.relative_to(SRC).parts[0] not in OWNERS]


def test_no_module_outside_the_engine_names_its_tables() -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in outside_the_engine()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if TABLE_NAMES.search(line) or TABLE_IMPORTS.search(line)
    ]
    assert offenders == []


def test_the_check_would_catch_a_stray_statement() -> None:
    assert TABLE_NAMES.search('sa.text("SELECT id FROM remit_jobs WHERE queue = :q")')
    assert TABLE_IMPORTS.search("from remit.db.tables import jobs, webhook_events")
    assert not TABLE_NAMES.search('"remit_jobs_executed_total"')
