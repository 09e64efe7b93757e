"""What a run ended in, and the pure rule that turns it into the job's next state.

Keeping :func:`plan` free of I/O lets the whole policy — retry with backoff, discard on the last attempt or
when the job gives up, snooze without spending an attempt, cancel — be tested directly; the worker only
applies the plan with a guarded UPDATE.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from remit.jobs.records import Job
from remit.jobs.retry import Backoff
from remit.jobs.states import JobState


@dataclass(frozen=True, slots=True)
class Completed:
    pass


@dataclass(frozen=True, slots=True)
class Failed:
    error: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Snoozed:
    seconds: float
    reason: str


@dataclass(frozen=True, slots=True)
class Cancelled:
    reason: str


@dataclass(frozen=True, slots=True)
class Discarded:
    """The job raised :class:`~remit.jobs.signals.Discard`; ``error`` is recorded as a failure's is."""

    error: dict[str, Any]


Outcome = Completed | Failed | Snoozed | Cancelled | Discarded


@dataclass(frozen=True, slots=True)
class Plan:
    """The state to move the run to and the columns to set with it."""

    target: JobState
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return "snoozed" if self.target is JobState.SCHEDULED else self.target.value


def plan(job: Job, outcome: Outcome, *, now: datetime, backoff: Backoff, rand: float) -> Plan:
    """Decide what follows ``outcome`` for the run ``job`` (its ``attempt`` is the run that ended)."""
    if isinstance(outcome, Completed):
        return Plan(JobState.COMPLETED)
    if isinstance(outcome, Snoozed):
        snoozes = int(job.meta.get("snoozed", 0)) + 1
        return Plan(
            JobState.SCHEDULED,
            {
                "scheduled_at": now + timedelta(seconds=outcome.seconds),
                "max_attempts": job.max_attempts + 1,  # the attempt this run used is given back
                "attempted_by": None,
                "meta": {**job.meta, "snoozed": snoozes, "snooze_reason": outcome.reason},
            },
        )
    if isinstance(outcome, Cancelled):
        return Plan(JobState.CANCELLED, {"meta": {**job.meta, "cancelled": outcome.reason}})
    if job.errors is None:
        raise ValueError("plan a failure only with the job's errors loaded")
    errors = [*job.errors, outcome.error]
    if isinstance(outcome, Discarded) or job.is_last_attempt:
        return Plan(JobState.DISCARDED, {"errors": errors})
    delay = backoff.delay(job.attempt, rand)
    return Plan(
        JobState.RETRYABLE,
        {"errors": errors, "scheduled_at": now + timedelta(seconds=delay), "attempted_by": None},
    )
