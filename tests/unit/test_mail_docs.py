"""docs/mail.md agrees with the code: every kind with its trigger, the ops events with their catalog level
and allowed metadata, the outcomes of remit_mail_sent_total."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from remit.mail.kinds import SPECS
from remit.mail.log import MailOutcome
from remit.telemetry import ops

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "mail.md").read_text(encoding="utf-8")


def test_every_kind_is_documented_with_its_trigger() -> None:
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| ([^|]+) \|", PAGE, flags=re.MULTILINE))
    for kind, spec in SPECS.items():
        assert kind.value in rows, kind
        if spec.trigger:
            assert f"`{spec.trigger}`" in rows[kind.value], kind


def test_the_ops_events_table_gives_each_its_catalog_level_and_allowed_metadata() -> None:
    rows = re.findall(r"^\| `([a-z_.]+)` \| (\w+) \| [^|]+ \| ([^|]+) \|$", PAGE, flags=re.MULTILINE)
    documented = {name: level for name, level, _ in rows}
    mail_events = {"pdf_adapter_unavailable", "mail.failed"}
    assert documented == {
        name: logging.getLevelName(spec.level).lower() for name, spec in ops.CATALOG.items() if name in mail_events
    }
    for _name, _level, metadata in rows:
        fields = re.sub(r"\([^)]*\)", "", metadata)  # the values explained in parentheses are not fields
        assert set(re.findall(r"`([a-z_]+)`", fields)) <= ops.ALLOWED_FIELDS


def test_the_metrics_section_lists_every_mail_outcome() -> None:
    section = PAGE.split("\n## Metrics\n", 1)[1]
    assert set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)) == {o.value for o in MailOutcome}
