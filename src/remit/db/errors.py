"""What a database error means, and what may be said about it, the same on SQLite and PostgreSQL.

Two questions every caller of the database asks of an exception, answered here once:

- :func:`is_unavailable_error`: did the database go away (answer 503 with ``Retry-After``; retry the job) or
  is this a bug in a statement or the data (a 500, a failed job)? Every class that means "gone" is listed:
  SQLAlchemy's wrapped errors (``OperationalError``, ``InterfaceError``, a ``DBAPIError`` whose connection was
  invalidated, its pool's ``TimeoutError``), psycopg's raw ones as the webhook writer meets them (its
  ``OperationalError`` family: ``AdminShutdown``, ``CrashShutdown``, ``CannotConnectNow``,
  ``ConnectionTimeout``, psycopg_pool's ``PoolTimeout`` and ``PoolClosed`` …), sqlite3's ``OperationalError``
  (``unable to open database file``, ``disk I/O error``, ``database is locked``, a read-only file, a missing
  table before ``remit migrate``), and the operating system's connection errors.
- :func:`database_error_text`: what may be stored or shown about a database error. A driver's message, and
  SQLAlchemy's text around it, quote the statement and its parameters — a webhook's raw body, a customer's
  name and email — so a stored ``last_error`` carries the error's class and its SQLSTATE (PostgreSQL) or
  extended result code (SQLite) only, which is what an operator needs to look it up.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from typing import Any

import sqlalchemy as sa

from remit.errors import DatabaseUnavailable


def _psycopg_gone() -> tuple[type[BaseException], ...]:
    """psycopg's "connection went away" classes once psycopg is imported — an exception of psycopg's cannot
    exist before — so a process on SQLite never imports it (psycopg is an optional extra, and a ``remit``
    command would pay for it at every start); none without it."""
    psycopg: Any = sys.modules.get("psycopg")
    if psycopg is None or not hasattr(psycopg, "InterfaceError"):  # not imported, or still importing
        return ()
    return (psycopg.OperationalError, psycopg.InterfaceError)  # PoolTimeout and PoolClosed subclass the first


_GONE: tuple[type[BaseException], ...] = (
    DatabaseUnavailable,
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.TimeoutError,  # no pooled connection within the pool's timeout
    sqlite3.OperationalError,
    ConnectionError,
    OSError,  # includes TimeoutError (= asyncio.TimeoutError) and the socket errors under a driver
    asyncio.TimeoutError,
)


def is_unavailable_error(exc: BaseException) -> bool:
    """Whether ``exc`` means "the database is not there right now" rather than a bug in a statement."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, (*_GONE, *_psycopg_gone()))


def _driver_error(exc: BaseException) -> BaseException | None:
    """The driver's own exception under ``exc`` (SQLAlchemy keeps it as ``orig``), or ``exc`` if it is one."""
    if isinstance(exc, sa.exc.StatementError):
        return exc.orig
    module = type(exc).__module__
    if module.startswith(("psycopg", "sqlite3")) or isinstance(exc, sqlite3.Error):
        return exc
    return None


def is_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` came from the database layer (SQLAlchemy, psycopg or sqlite3)."""
    return isinstance(exc, sa.exc.SQLAlchemyError | sqlite3.Error) or _driver_error(exc) is not None


def _code(driver: BaseException | None) -> str | None:
    if driver is None:
        return None
    sqlstate: Any = getattr(driver, "sqlstate", None)  # psycopg
    if isinstance(sqlstate, str) and sqlstate:
        return f"SQLSTATE {sqlstate}"
    name: Any = getattr(driver, "sqlite_errorname", None)  # sqlite3, Python 3.11+
    if isinstance(name, str) and name:
        return name
    return None


def database_error_text(exc: BaseException) -> str:
    """What may be said about a database error: its class, the driver's class and its code — never its message
    (pure). ``IntegrityError: UniqueViolation (SQLSTATE 23505)``, ``OperationalError: OperationalError
    (SQLITE_READONLY)``, ``StatementError: RecursionError``."""
    driver = _driver_error(exc)
    outer = type(exc).__name__
    parts = [outer]
    if driver is not None and driver is not exc:
        parts.append(type(driver).__name__)
    code = _code(driver)
    text = ": ".join(parts)
    return f"{text} ({code})" if code else text


__all__ = ["database_error_text", "is_database_error", "is_unavailable_error"]
