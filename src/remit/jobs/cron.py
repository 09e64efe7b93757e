"""Cron entries: a job enqueued on a schedule by the leader, exactly once per tick.

A host writes them as ``CRON_JOBS = [(name, expression, job), …]`` in a job module (or with :func:`cron`),
and the scheduler (:mod:`remit.jobs.scheduler`) fires them beside the periodic tasks, in the same table:
firing claims the tick with a compare-and-set on the entry's row in the same transaction as the enqueue, so
even two processes that both think they lead (a leader handing over) enqueue a tick once. Expressions are
standard five-field cron (``*/10 * * * *``), or six fields with seconds last (``* * * * * */5``); after
downtime an entry fires once for the latest missed tick, not once per missed tick (:class:`remit.periodic.Cron`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from remit.errors import JobError
from remit.jobs.definition import JobDefinition
from remit.periodic import Cron


@dataclass(frozen=True)
class CronEntry:
    """Enqueue ``job`` with ``args`` on ``expression``; ``name`` keys its last fired tick, so keep it stable."""

    name: str
    expression: str
    job: JobDefinition
    args: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            self.schedule  # noqa: B018 - parse now: a bad expression fails where it is declared
        except ValueError:
            raise JobError(f"cron entry {self.name!r} has an invalid expression") from None

    @cached_property
    def schedule(self) -> Cron:
        return Cron(self.expression)


def cron(name: str, expression: str, job: JobDefinition, args: Mapping[str, Any] | None = None) -> CronEntry:
    """A cron entry, for a module's ``CRON_JOBS`` or a part's ``cron``; it is scheduled nowhere by itself."""
    return CronEntry(name, expression, job, dict(args or {}))


def entries(declared: Iterable[CronEntry | tuple[Any, ...]]) -> list[CronEntry]:
    """``CRON_JOBS`` items — entries, or ``(name, expression, job[, args])`` tuples — as entries."""
    return [item if isinstance(item, CronEntry) else cron(*item) for item in declared]


__all__ = ["CronEntry", "cron", "entries"]
