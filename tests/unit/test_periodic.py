"""The schedules of periodic work (pure): when a task is due, which tick it runs for, when it runs next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from remit.periodic import Cron, Every, PeriodicTask, next_run

T = datetime(2026, 3, 4, 3, 17, tzinfo=UTC)


async def _run(ctx: object) -> dict[str, int]:
    return {}


def test_cron_is_due_once_per_tick_for_the_latest_tick() -> None:
    daily = Cron("17 3 * * *")
    assert daily.due(None, T + timedelta(hours=5)) == T  # never run: at once, for the latest tick
    assert daily.due(T, T + timedelta(hours=5)) is None  # that tick ran
    assert daily.due(T - timedelta(days=3), T + timedelta(hours=5)) == T  # after downtime: the latest only
    assert daily.due(T, T + timedelta(days=1)) == T + timedelta(days=1)
    assert daily.next_after(T) == T + timedelta(days=1)
    assert daily.describe() == "cron 17 3 * * *"


def test_cron_with_seconds_and_an_exact_tick() -> None:
    every_five = Cron("* * * * * */5")
    assert every_five.latest_tick(T + timedelta(seconds=7, microseconds=5)) == T + timedelta(seconds=5)
    assert every_five.latest_tick(T + timedelta(seconds=10)) == T + timedelta(seconds=10)
    with pytest.raises(ValueError, match="invalid cron"):
        Cron("every day")


def test_an_interval_counts_from_the_last_tick() -> None:
    every = Every(15)
    assert every.due(None, T) == T
    assert every.due(T, T + timedelta(seconds=14.9)) is None
    assert every.due(T, T + timedelta(seconds=15)) == T + timedelta(seconds=15)
    assert every.next_after(T) == T + timedelta(seconds=15)
    assert every.describe() == "every 15s"
    with pytest.raises(ValueError, match="positive"):
        Every(0)


def test_next_run_is_now_when_due_else_the_tick_after_the_last() -> None:
    assert next_run(Every(60), None, T) == T
    assert next_run(Every(60), T, T + timedelta(seconds=10)) == T + timedelta(seconds=60)
    assert next_run(Cron("17 3 * * *"), T, T + timedelta(hours=1)) == T + timedelta(days=1)


def test_task_names_are_short_fixed_label_values() -> None:
    PeriodicTask("webhooks.prune", Every(1), _run)
    PeriodicTask("usage.rollup:hourly", Every(1), _run, leader_only=False, queue="remit_usage")
    for bad in ("", "Prune", "job 42", "x" * 101):
        with pytest.raises(ValueError, match="periodic task name"):
            PeriodicTask(bad, Every(1), _run)
