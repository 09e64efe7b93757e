"""What operators see of the engine: per-queue statistics and live workers, assembled by pure functions.

The engine reads the rows (:mod:`remit.jobs.store.admin`) and turns them into these records for the CLI, the
API, ``remit doctor`` and the scrape-time gauges.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from remit.jobs.states import JobState

STATES = [state.value for state in JobState]


@dataclass(frozen=True, slots=True)
class QueueStats:
    name: str
    available: int = 0
    scheduled: int = 0
    executing: int = 0
    retryable: int = 0
    completed: int = 0
    discarded: int = 0
    cancelled: int = 0
    oldest_available_age_s: float = 0.0
    paused: bool = False
    concurrency: int | None = None

    @property
    def depth(self) -> int:
        """Jobs waiting to run (due or not)."""
        return self.available + self.scheduled + self.retryable

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "depth": self.depth}


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    id: str
    host: str
    pid: int
    queues: list[str]
    started_at: datetime
    heartbeat_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> WorkerInfo:
        return cls(row["id"], row["host"], row["pid"], list(row["queues"]), row["started_at"], row["heartbeat_at"])

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "started_at": self.started_at.isoformat(),
            "heartbeat_at": self.heartbeat_at.isoformat(),
        }


def queue_stats(
    counts: Iterable[tuple[str, str, int]],
    oldest: Iterable[tuple[str, datetime | None]],
    paused: set[str],
    *,
    now: datetime,
    configured: Mapping[str, int] | None = None,
) -> list[QueueStats]:
    """Per-queue statistics from the counts by state, each queue's oldest due job and the paused queues.

    ``configured`` (name → concurrency) adds queues that have no job yet.
    """
    by_queue: dict[str, dict[str, Any]] = {name: {} for name in (configured or {})}
    for queue, state, n in counts:
        by_queue.setdefault(queue, {})[state] = int(n)
    ages: dict[str, float] = {}
    for queue, first in oldest:
        if first is not None:
            first = first if first.tzinfo else first.replace(tzinfo=now.tzinfo)
            ages[queue] = max(0.0, (now - first).total_seconds())
    for queue in paused:
        by_queue.setdefault(queue, {})
    return [
        QueueStats(
            name=name,
            **{state: by_queue[name].get(state, 0) for state in STATES},
            oldest_available_age_s=round(ages.get(name, 0.0), 3),
            paused=name in paused,
            concurrency=(configured or {}).get(name),
        )
        for name in sorted(by_queue)
    ]


def discarded_not_redone(discarded: Iterable[tuple[int, str, str | None]], newest: Mapping[str, int]) -> dict[str, int]:
    """Discarded jobs per queue whose work was not done again since (pure): ``discarded`` is ``(id, queue,
    unique key)`` of each discarded job, ``newest`` the highest job id per unique key. A discarded job is redone
    when a later job with the same unique key was enqueued (a replayed webhook event's fresh dispatch); what is
    left still needs an operator, so ``remit doctor`` stops counting a dead letter that was fixed and replayed."""
    counts: dict[str, int] = {}
    for job_id, queue, key in discarded:
        if key is None or newest.get(key, job_id) <= job_id:
            counts[queue] = counts.get(queue, 0) + 1
    return counts


__all__ = ["STATES", "QueueStats", "WorkerInfo", "discarded_not_redone", "queue_stats"]
