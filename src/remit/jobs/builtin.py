"""Finding job definitions: remit's own job modules, and the host's.

A worker runs only jobs registered in its process, so it imports remit's own job modules and any the host
names (``REMIT_JOB_MODULES`` or ``remit worker --import``). A module may also declare ``CRON_JOBS``, a list
of ``(name, expression, job)`` entries the leader fires.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Iterable
from pathlib import Path

from remit.jobs.cron import CronTable, default_cron

log = logging.getLogger("remit.jobs")

#: remit's own modules that declare jobs or cron entries; missing ones are skipped (optional parts).
BUILTIN_MODULES: tuple[str, ...] = (
    "remit.webhooks.dispatch",
    "remit.webhooks.prune",
)


def load_job_modules(extra: Iterable[str] = (), *, cron_table: CronTable | None = None) -> list[str]:
    """Import remit's job modules and ``extra`` ones; register their ``CRON_JOBS``. Returns what loaded.

    A host module that cannot be imported is an error (the worker would silently not run its jobs); a
    built-in one that is absent is skipped.
    """
    table = cron_table or default_cron
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)  # so `remit worker --import myapp.jobs` finds the host's package
    loaded = []
    for name in BUILTIN_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        loaded.append(name)
        _register_cron(module, table)
    for name in extra:
        module = importlib.import_module(name)
        loaded.append(name)
        _register_cron(module, table)
    return loaded


def _register_cron(module: object, table: CronTable) -> None:
    for entry_name, expression, definition in getattr(module, "CRON_JOBS", ()):
        table.add(entry_name, expression, definition)
