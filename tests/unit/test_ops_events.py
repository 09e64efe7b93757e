"""Ops events are logged at the level their catalog entry gives: a warning only when a person must act."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from remit.telemetry import ops


class Levels(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[tuple[str, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record.getMessage(), record.levelno))


@pytest.fixture
def levels() -> Iterator[Levels]:
    handler = Levels()
    logger = logging.getLogger("remit.ops")
    before = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before)


def test_a_successful_replay_and_a_routine_prune_are_info_and_a_dead_letter_is_a_warning(levels: Levels) -> None:
    ops.emit("webhook_dlq.replay", actor="operator:test", matched=1, replayed=1)
    ops.emit("webhook_dlq.prune", actor="cron", deleted=0, processed=0, dead=0)
    ops.emit("webhook_dlq.dead_lettered", event_id=41)
    assert levels.seen == [
        ("remit.ops.webhook_dlq.replay", logging.INFO),
        ("remit.ops.webhook_dlq.prune", logging.INFO),
        ("remit.ops.webhook_dlq.dead_lettered", logging.WARNING),
    ]


def test_the_webhook_ops_events_table_gives_each_its_catalog_level() -> None:
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    documented = dict(re.findall(r"^\| `(webhook_dlq\.[a-z_]+)` \| (\w+) \|", page, flags=re.MULTILINE))
    catalog = {name: logging.getLevelName(spec.level).lower() for name, spec in ops.CATALOG.items()}
    assert documented == {name: level for name, level in catalog.items() if name.startswith("webhook_dlq.")}
