"""uvicorn's loggers are the process's: what a test changes on them, every later test in the worker inherits.

uvicorn configures them itself when a server is built with its defaults (``dictConfig`` of its own handlers,
``propagate`` off, levels from ``log_level``; ``access_log=False`` turns ``uvicorn.access``'s propagation off),
and nothing puts them back. A stand-in served that way once left ``uvicorn.access`` at WARNING for the rest of
the session, so a later test's access log came out empty. :func:`uvicorn_logging` is what ``tests/conftest.py``
compares before and after each test; :func:`uvicorn_logging_restored` lets a test change them on purpose.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from remit.telemetry.logging import UVICORN_LOGGERS

LoggerState = tuple[str, int, bool, bool, tuple[logging.Handler, ...]]


def uvicorn_logging() -> list[LoggerState]:
    """Each uvicorn logger's name, level, ``propagate``, ``disabled`` and handlers, to compare.

    Filters are left out: remit installs its own once (idempotently) and they act only on what it asks of them.
    So are pytest's capture handlers, which pytest attaches to a non-propagating logger for each test phase.
    """
    states = []
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        handlers = tuple(h for h in logger.handlers if not type(h).__module__.startswith("_pytest."))
        states.append((name, logger.level, logger.propagate, logger.disabled, handlers))
    return states


def restore_uvicorn_logging(states: list[LoggerState]) -> None:
    """Put uvicorn's loggers back as :func:`uvicorn_logging` saw them."""
    for name, level, propagate, disabled, handlers in states:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = propagate
        logger.disabled = disabled
        logger.handlers[:] = handlers


@contextmanager
def uvicorn_logging_restored() -> Iterator[None]:
    """For a test that configures uvicorn's loggers on purpose (as a host would): put them back afterwards."""
    states = uvicorn_logging()
    try:
        yield
    finally:
        restore_uvicorn_logging(states)


@contextmanager
def configured_logging_restored() -> Iterator[None]:
    """For a test that calls ``configure_logging``: the root logger's handlers and level, every logger's level
    and structlog's configuration as they were before the block. ``configure_logging`` also sets alembic's, the
    payload loggers' and the chatty libraries' levels from REMIT_LOG_LEVEL: left at DEBUG, alembic narrated at
    INFO into every later test's ``caplog`` (a migration "logged" lines it does not log)."""
    root = logging.getLogger()
    handlers, root_level = list(root.handlers), root.level
    manager = logging.Logger.manager
    levels = {name: logger.level for name, logger in manager.loggerDict.items() if isinstance(logger, logging.Logger)}
    try:
        yield
    finally:
        for name, logger in list(manager.loggerDict.items()):
            if isinstance(logger, logging.Logger):
                logger.setLevel(levels.get(name, logging.NOTSET))
        root.handlers[:] = handlers
        root.setLevel(root_level)
        structlog.reset_defaults()


__all__ = [
    "UVICORN_LOGGERS",
    "configured_logging_restored",
    "restore_uvicorn_logging",
    "uvicorn_logging",
    "uvicorn_logging_restored",
]
