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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
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


__all__ = ["Counts", "Cron", "Every", "PeriodicTask", "Schedule", "next_run"]
