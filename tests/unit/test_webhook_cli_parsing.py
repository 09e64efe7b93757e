"""The pure parts of ``remit webhooks``: --since, the actor, type patterns as LIKE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import typer

from remit.cli.webhooks import default_actor, parse_since
from remit.webhooks.dead_letters import glob_to_like

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01T08:30:00Z", datetime(2026, 3, 1, 8, 30, tzinfo=UTC)),
        ("2026-03-01T08:30:00+02:00", datetime(2026, 3, 1, 6, 30, tzinfo=UTC)),
        ("7d", NOW - timedelta(days=7)),
        ("12h", NOW - timedelta(hours=12)),
        ("90m", NOW - timedelta(minutes=90)),
        ("2w", NOW - timedelta(weeks=2)),
    ],
)
def test_since(text: str, expected: datetime) -> None:
    assert parse_since(text, NOW) == expected


@pytest.mark.parametrize("text", ["last tuesday", "2026-13-45", "7D", "5x", "-3d", "99999999999d", "999999w"])
def test_since_refuses_nonsense_with_a_usage_error(text: str) -> None:
    """Dates that do not exist and ages past the calendar's range are usage errors (exit 2), not tracebacks."""
    assert parse_since(None, NOW) is None
    with pytest.raises(typer.BadParameter) as refused:
        parse_since(text, NOW)
    assert refused.value.param_hint == "'--since'"


def test_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "ann")
    assert default_actor(None) == "operator:ann"
    assert default_actor("ops-bot") == "ops-bot"


@pytest.mark.parametrize(
    ("pattern", "like"),
    [
        ("invoice.*", "invoice.%"),
        ("payment_intent.*", "payment\\_intent.%"),
        ("a?c", "a_c"),
        ("100%", "100\\%"),
        ("*", "%"),
    ],
)
def test_glob_to_like(pattern: str, like: str) -> None:
    assert glob_to_like(pattern) == like
