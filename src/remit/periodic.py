"""The one shape of recurring work, as Oban's plugins have it: a name, a schedule, who runs it, and a run.

::

    PRUNE = PeriodicTask("webhooks.prune", Cron("17 3 * * *"), prune, queue="remit_maintenance")
    RESCUE = PeriodicTask("jobs.rescue", Every(15), rescue)

- ``schedule``: :class:`Cron` (five fields, or six with seconds last) or :class:`Every` (a fixed interval).
- ``leader_only`` (the default): one process among all runs it — the job engine's leader — and each tick is
  claimed in the database, so it runs once per tick even while leadership changes hands. ``False``: every
  worker process runs it on its own clock (a per-process cache refresh, say).
- ``queue``: None runs it inline in the scheduler; a queue key enqueues it there as a job unique per tick
  (work that may take long, such as a reconciler on ``remit_meters``), so it gets the engine's retries.
- ``run(ctx)`` acts once and returns counts (``{"deleted": 12}``), which are logged, recorded and shown by
  ``remit schedule list``. What ``ctx`` holds is the runner's business (:mod:`remit.jobs.scheduler`).

Nothing here does I/O: the schedules' arithmetic is pure and tested directly; the runner in ``jobs/`` wraps
every run in a log line, a metric and an ops event on failure, and records it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

from croniter import croniter

C = TypeVar("C")

#: What a run returns: counts by name (rows deleted, jobs rescued …).
Counts = Mapping[str, int]

#: Task names are metric label values and keys in the database: short, fixed, never ids.
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,99}$")


class Schedule(Protocol):
    """When a task is due: the tick to claim, and the tick after one."""

    def due(self, last_tick: datetime | None, now: datetime) -> datetime | None:
        """The tick to run for at ``now`` given the last tick run (None: never), or None when not due."""
        ...

    def next_after(self, tick: datetime) -> datetime:
        """The first tick after ``tick``."""
        ...

    def describe(self) -> str:
        """How operators see it (``cron 17 3 * * *``, ``every 15s``)."""
        ...


@dataclass(frozen=True, slots=True)
class Cron:
    """A cron expression: five fields, or six with seconds last (``* * * * * */5``).

    Due once per tick; after downtime only the latest missed tick runs, not one per missed tick. A task
    never run before is due at once, for the latest tick.
    """

    expression: str

    def __post_init__(self) -> None:
        if not croniter.is_valid(self.expression):
            raise ValueError(f"invalid cron expression {self.expression!r}")

    def latest_tick(self, now: datetime) -> datetime:
        """The most recent tick at or before ``now``."""
        if croniter.match(self.expression, now) and now.microsecond == 0:
            return now
        tick: datetime = croniter(self.expression, now).get_prev(datetime)
        return tick

    def due(self, last_tick: datetime | None, now: datetime) -> datetime | None:
        tick = self.latest_tick(now)
        return tick if last_tick is None or last_tick < tick else None

    def next_after(self, tick: datetime) -> datetime:
        after: datetime = croniter(self.expression, tick).get_next(datetime)
        return after

    def describe(self) -> str:
        return f"cron {self.expression}"


@dataclass(frozen=True, slots=True)
class Every:
    """A fixed interval in seconds, counted from the last run's tick; due at once when never run."""

    seconds: float

    def __post_init__(self) -> None:
        if self.seconds <= 0:
            raise ValueError("an interval must be positive")

    def due(self, last_tick: datetime | None, now: datetime) -> datetime | None:
        if last_tick is None or (now - last_tick).total_seconds() >= self.seconds:
            return now
        return None

    def next_after(self, tick: datetime) -> datetime:
        return tick + timedelta(seconds=self.seconds)

    def describe(self) -> str:
        return f"every {self.seconds:g}s"


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
#: What ``every …`` may say: at least a second (a leader-only task in a tight loop helps nobody), at most a
#: month (longer is a cron expression's job).
MIN_INTERVAL_S = 1.0
MAX_INTERVAL_S = 31 * 86400.0


def parse_schedule(text: str) -> Schedule:
    """``"every 30s"`` (``s``, ``m`` or ``h``) → :class:`Every`; anything else is read as a cron expression
    (pure). Raises ValueError saying what a schedule may look like."""
    text = text.strip()
    if text.startswith("every "):
        amount = text.removeprefix("every ").strip()
        unit = _UNITS.get(amount[-1:])
        try:
            seconds = float(amount[:-1]) * unit if unit else float("nan")
        except ValueError:
            seconds = float("nan")
        if not MIN_INTERVAL_S <= seconds <= MAX_INTERVAL_S:  # NaN, inf and a busy loop fail here too
            raise ValueError(
                f"{text!r} is not an interval from 1s to 31 days such as 'every 30s', 'every 10m' or 'every 1h'"
            )
        return Every(seconds)
    try:
        return Cron(text)
    except ValueError:
        raise ValueError(f"{text!r} is neither a cron expression ('*/10 * * * *') nor 'every 10m'") from None


def parse_schedules(spec: str) -> dict[str, Schedule]:
    """``"provisioning.reconcile=*/5 * * * *; usage.rollup=every 30s"`` → task name → schedule (pure): the
    ``REMIT_SCHEDULES`` overrides. Semicolons separate entries, as cron expressions hold spaces and commas."""
    schedules: dict[str, Schedule] = {}
    for position, item in enumerate(spec.split(";"), start=1):
        if not item.strip():
            continue
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise ValueError(f"entry {position} is not task-name=schedule")
        if name in schedules:
            raise ValueError(f"entry {position} names {name!r} a second time")
        try:
            schedules[name] = parse_schedule(text)
        except ValueError as exc:
            raise ValueError(f"entry {position} ({name}): {exc}") from None
    return schedules


def with_schedules(tasks: Sequence[PeriodicTask[C]], overrides: Mapping[str, Schedule]) -> list[PeriodicTask[C]]:
    """``tasks`` with the schedules ``overrides`` names replaced (pure)."""
    return [replace(task, schedule=overrides[task.name]) if task.name in overrides else task for task in tasks]


def unknown_schedules(names: Iterable[str], overrides: Mapping[str, Schedule]) -> str | None:
    """Why ``overrides`` name a task that is not among the periodic tasks ``names``, or None (pure): a typo
    in ``REMIT_SCHEDULES`` should stop a worker at start, not leave the default in place unnoticed."""
    known = sorted(set(names))
    unknown = sorted(set(overrides) - set(known))
    if not unknown:
        return None
    return f"no periodic task is named {', '.join(map(repr, unknown))} (there are: {', '.join(known)})"


def next_run(schedule: Schedule, last_tick: datetime | None, now: datetime) -> datetime:
    """When the task runs next, as of ``now``: now when it is due, else the tick after its last."""
    if schedule.due(last_tick, now) is not None or last_tick is None:
        return now
    return schedule.next_after(last_tick)


@dataclass(frozen=True)
class PeriodicTask(Generic[C]):
    """Recurring work (see the module docs). ``C`` is what the runner hands ``run``."""

    name: str
    schedule: Schedule
    run: Callable[[C], Awaitable[Counts]]
    leader_only: bool = True
    queue: str | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"periodic task name {self.name!r} must be 1-100 of [a-z0-9_.:-]")


__all__ = [
    "Counts",
    "Cron",
    "Every",
    "PeriodicTask",
    "Schedule",
    "next_run",
    "parse_schedule",
    "parse_schedules",
    "unknown_schedules",
    "with_schedules",
]
