"""What one part of remit — or one host module — brings to a runtime, as one record.

Each part of remit exports a :class:`Part` (``remit.webhooks.PART``; provisioning, usage, mail and money will
export theirs): its jobs, its periodic tasks and cron entries, its handlers for processor events and its state
machines, and the scrape-time collectors of its gauges. Nothing is registered at import; :mod:`remit.parts`
lists the parts in order and composes a runtime from them, and the order of that list is the order their
event handlers run in.

A host's modules (``REMIT_JOB_MODULES``, ``remit worker --import``) become parts too: a module may export a
``PART`` of its own, or :func:`part_from_module` collects what it declares — every
:class:`~remit.jobs.definition.JobDefinition`, :class:`~remit.periodic.PeriodicTask`,
:class:`~remit.jobs.cron.CronEntry` and :class:`~remit.statemachine.StateMachine` at its top level, its
``CRON_JOBS`` list, and every function marked with :func:`remit.handlers.on_event`, in the order the module
defines them.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from remit.handlers import EventHandler, declared_handler
from remit.jobs.context import PeriodicContext
from remit.jobs.cron import CronEntry, entries
from remit.jobs.definition import JobDefinition
from remit.periodic import PeriodicTask
from remit.statemachine import StateMachine
from remit.telemetry.collectors import Collector


@dataclass(frozen=True)
class Part:
    """A part's declarations. ``name`` is for operators and errors; the rest is composed into a runtime."""

    name: str
    jobs: tuple[JobDefinition, ...] = ()
    periodic: tuple[PeriodicTask[PeriodicContext[Any]], ...] = ()
    cron: tuple[CronEntry, ...] = ()
    event_handlers: tuple[EventHandler, ...] = ()
    state_machines: tuple[StateMachine[Any], ...] = ()
    #: Refresh this part's database-derived gauges before each ``GET /metrics`` (see
    #: :mod:`remit.telemetry.collectors`), after the job engine's.
    collectors: tuple[Collector, ...] = ()


def part_from_module(module: ModuleType) -> Part:
    """The module's ``PART``, or a part made of what it declares at its top level (see the module docs)."""
    declared = getattr(module, "PART", None)
    if isinstance(declared, Part):
        return declared
    jobs: dict[str, JobDefinition] = {}
    periodic: dict[str, PeriodicTask[Any]] = {}
    cron: dict[str, CronEntry] = {}
    handlers: dict[str, EventHandler] = {}
    machines: dict[str, StateMachine[Any]] = {}
    for value in list(vars(module).values()):
        if isinstance(value, JobDefinition):
            jobs.setdefault(value.name, value)
        elif isinstance(value, PeriodicTask):
            periodic.setdefault(value.name, value)
        elif isinstance(value, CronEntry):
            cron.setdefault(value.name, value)
        elif isinstance(value, StateMachine):
            machines.setdefault(value.name, value)
        elif (handler := declared_handler(value)) is not None:
            handlers.setdefault(handler.name, handler)
    for entry in entries(getattr(module, "CRON_JOBS", ())):
        cron.setdefault(entry.name, entry)
        jobs.setdefault(entry.job.name, entry.job)
    return Part(
        name=module.__name__,
        jobs=tuple(jobs.values()),
        periodic=tuple(periodic.values()),
        cron=tuple(cron.values()),
        event_handlers=tuple(handlers.values()),
        state_machines=tuple(machines.values()),
    )


def load_parts(module_names: Iterable[str]) -> list[Part]:
    """Import each named module (the working directory first on the path, so ``remit worker --import
    myapp.jobs`` finds the host's package) and collect it as a part. A module that cannot be imported is an
    error: a worker that silently ran without the host's jobs would leave them queued forever."""
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    return [part_from_module(importlib.import_module(name)) for name in module_names]


__all__ = ["Part", "load_parts", "part_from_module"]
