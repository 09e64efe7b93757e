"""The job engine: durable jobs in the same SQL database as the billing data, behind one seam.

:class:`Engine` (``engine.py``) owns every statement on the engine's tables; callers — the worker, the
webhook ingest and replay, the CLI, the API, tests — use it and nothing below it. Beneath it:

- declaring: ``definition`` (``@job``, the registry), ``signals`` (Snooze, Cancel, Discard), ``rows`` (the
  row a request becomes), ``cron`` (cron entries);
- rules, pure: ``states`` (the state machine), ``retry`` (backoff), ``outcomes`` (what a run's end means);
- SQL: ``store/`` (one module per concern);
- running: ``worker`` (claim, run, complete in batches), ``scheduler`` (periodic tasks and cron entries, each
  tick once, recorded), ``maintenance`` (rescue and pruning, as periodic tasks), ``notifier`` (LISTEN/NOTIFY),
  ``context`` (what a running job or task is given), ``settings`` (the engine's knobs and queue names).

Importing any of it registers nothing and starts nothing.
"""

from remit.jobs.context import JobContext, PeriodicContext
from remit.jobs.cron import CronEntry, cron
from remit.jobs.definition import JobDefinition, JobRegistry, UniqueBy, job
from remit.jobs.engine import Engine
from remit.jobs.rows import JobRequest
from remit.jobs.settings import JobSettings
from remit.jobs.signals import Cancel, Discard, Snooze

__all__ = [
    "Cancel",
    "CronEntry",
    "Discard",
    "Engine",
    "JobContext",
    "JobDefinition",
    "JobRegistry",
    "JobRequest",
    "JobSettings",
    "PeriodicContext",
    "Snooze",
    "UniqueBy",
    "cron",
    "job",
]
