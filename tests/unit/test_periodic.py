"""The schedules of periodic work (pure): when a task is due, which tick it runs for, when it runs next."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from remit.periodic import (
    Cron,
    Every,
    PeriodicTask,
    next_run,
    parse_schedule,
    parse_schedules,
    unknown_schedules,
    with_schedules,
)

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


def test_a_schedule_is_read_from_cron_or_every_with_a_unit():
    assert parse_schedule("*/5 * * * *") == Cron("*/5 * * * *")
    assert parse_schedule(" every 30s ") == Every(30)
    assert parse_schedule("every 10m") == Every(600)
    assert parse_schedule("every 1.5h") == Every(5400)
    assert parse_schedule("every 1s") == Every(1)
    assert parse_schedule("every 744h") == Every(31 * 86400)
    bad_values = ("every 30", "every -1m", "every 0s", "every ms", "*/5 * *", "often")
    for bad in (*bad_values, "every infs", "every nanm", "every 1e400h", "every 1e-6s", "every 745h"):
        with pytest.raises(ValueError, match="every 10m"):
            parse_schedule(bad)


def test_remit_schedules_name_tasks_and_replace_only_theirs():
    overrides = parse_schedules("provisioning.reconcile=*/5 * * * *; usage.rollup = every 30s ;")
    assert overrides == {"provisioning.reconcile": Cron("*/5 * * * *"), "usage.rollup": Every(30)}
    assert parse_schedules("") == {}
    tasks = [PeriodicTask("usage.rollup", Every(60), _run), PeriodicTask("webhooks.prune", Every(1), _run)]
    replaced = with_schedules(tasks, overrides)
    assert [t.schedule for t in replaced] == [Every(30), Every(1)]
    assert unknown_schedules([t.name for t in tasks], {"usage.rollup": Every(1)}) is None
    problem = unknown_schedules([t.name for t in tasks], overrides)
    assert problem is not None
    assert "'provisioning.reconcile'" in problem
    assert "usage.rollup, webhooks.prune" in problem


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("usage.rollup", "entry 1 is not task-name=schedule"),
        ("a=every 1s;Bad Name=every 1s", "entry 2 is not task-name=schedule"),
        ("a=every 1s;a=every 2s", "names 'a' a second time"),
        ("a=every 1s; b=soon", "entry 2 (b):"),
    ],
)
def test_a_bad_remit_schedules_names_its_entry(spec, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_schedules(spec)
