"""What every CLI command shares: printing lists and objects, failing, running async code, loading settings.

Commands that list things print a Rich table for people and, with ``--json``, exactly one JSON array on
stdout and nothing else, so scripts and runbooks can pipe it into ``jq``. JSON goes straight to ``sys.stdout``
rather than through Rich, which would wrap long lines and break the document. Errors go to stderr, one line
each, and once the command knows its settings every error names the database it used
(:func:`remit.db.location.describe`): the default SQLite file is relative to the working directory, and "no
job 42" means something else when read from the wrong directory.

Commands that work on the database go through :func:`run_with_runtime`: a database that is down, not
migrated, or (SQLite) a file that does not exist is one line and exit 3 — never a traceback, and never an
empty database file created by a command that only meant to read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from remit.billing.packages import packages_for
from remit.cli.hints import command
from remit.config import DEFAULT_DATABASE_URL, Settings, load_settings
from remit.db import location
from remit.db.engine import is_unavailable_error
from remit.errors import ConfigurationError, DatabaseUnavailable, ExitCode
from remit.runtime import Runtime
from remit.telemetry.logging import configure_logging

T = TypeVar("T")

#: Exit code for a configuration that cannot start remit (distinct from 1, "the command failed").
CONFIG_EXIT_CODE = 2


def to_jsonable(value: Any) -> Any:
    """Turn datetimes, enums, decimals, dataclasses and sets into JSON-ready values, recursively."""
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(item) for item in value]
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def dumps(value: Any) -> str:
    """One compact-but-readable JSON document."""
    return json.dumps(to_jsonable(value), ensure_ascii=False, sort_keys=False)


def _cell(value: Any) -> Text:
    """A table cell as plain text: stored values (``[redacted]``, a host's message) are never Rich markup."""
    value = to_jsonable(value)
    if value is None:
        return Text("-")
    if isinstance(value, (dict, list)):
        return Text(json.dumps(value, ensure_ascii=False))
    return Text(str(value))


def _console() -> Console:
    """A console for tables; piped into a file or a pager it keeps wide rows instead of Rich's 80 columns."""
    console = Console()
    return console if console.is_terminal else Console(width=200)


def fetch_limit(limit: int) -> int:
    """How many rows a listing cut at ``--limit`` asks the database for: one more than it shows, so the extra
    row's presence tells :func:`print_list` there are more, without a second query to count them."""
    return limit + 1


def print_list(
    rows: Sequence[Mapping[str, Any]], *, as_json: bool, columns: list[str], title: str, limit: int | None = None
) -> None:
    """Print ``rows``: a JSON array of every row (all keys) with ``as_json``, else a table of ``columns``.

    With ``limit`` (``rows`` fetched with :func:`fetch_limit`), only the first ``limit`` are printed, and when
    there were more a note on stderr says so (stdout stays one array)."""
    more = limit is not None and len(rows) > limit
    rows = rows[:limit]
    if more:
        Console(stderr=True).print(
            f"[dim]showing the first {len(rows)}; there are more: pass --limit to see them[/dim]", highlight=False
        )
    if as_json:
        sys.stdout.write(dumps(list(rows)) + "\n")
        sys.stdout.flush()
        return
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    console = _console()
    console.print(table)
    if not rows:
        console.print("[dim](none)[/dim]")


def print_object(obj: Any, as_json: bool) -> None:
    """Print one object: a JSON document with ``as_json``, else a two-column table of its fields."""
    data = to_jsonable(obj)
    if as_json:
        sys.stdout.write(dumps(data) + "\n")
        sys.stdout.flush()
        return
    console = _console()
    if not isinstance(data, dict):
        console.print(data)
        return
    table = Table(show_header=False, box=None)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in data.items():
        table.add_row(str(key), _cell(value))
    console.print(table)


#: The database of this command, once its settings are loaded (:func:`remember_database`); errors name it.
_database: dict[str, str] = {}


def remember_database(database_url: str) -> None:
    """From now on, every :func:`fail` of this command names the database ``database_url`` resolves to."""
    _database["url"] = database_url
    _database["where"] = location.describe(database_url)


def forget_database() -> None:
    """A new command starts (the ``remit`` callback): it has not loaded its settings yet."""
    _database.clear()


def with_database(message: str) -> str:
    """``message``, naming the database in use when the command knows it and the message does not yet."""
    where = _database.get("where")
    if where is None or where.removeprefix("sqlite file ") in message:
        return message
    return f"{message} (database: {where})"


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` (with the database in use, see :func:`with_database`) on stderr; exit with ``code``."""
    text = Text.assemble(("error:", "bold red"), " ", with_database(message))  # no markup: `[seats]` stays
    Console(stderr=True).print(text, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine to completion from a synchronous Typer command."""
    return asyncio.run(coro)


def configuration_message(error: ConfigurationError) -> str:
    """One message naming every problem; :func:`remit.config.load_settings` keeps values out of them."""
    lines = [f"remit cannot start: {len(error.problems)} configuration problem(s)"]
    lines.extend(f"  - {problem}" for problem in error.problems)
    lines.append("see docs/configuration.md for every variable")
    return "\n".join(lines)


def load_settings_or_exit() -> Settings:
    """Settings from the environment, or one message naming every problem and exit code 2.

    Also routes logging through remit's redacting structured logger (on stderr), so every command that
    loads settings logs the same way the service does.
    """
    try:
        settings = load_settings()
        # REMIT_PACKAGES is parsed where it is used; parsing it here makes a bad one stop every command at
        # start-up (``remit up`` included) with the same message, not the first checkout hours later.
        packages_for(settings)
    except ConfigurationError as exc:
        fail(configuration_message(exc), code=CONFIG_EXIT_CODE)
    configure_logging(settings)
    remember_database(settings.database_url)
    return settings


def missing_database_message(path: Any) -> str:
    """Why a command refuses a SQLite file that does not exist, and what to do (pure)."""
    return (
        f"database unavailable: no database file at {path}; DATABASE_URL (default {DEFAULT_DATABASE_URL}) is "
        f"relative to the directory remit runs in: run this where `{command('up')}` runs, or set DATABASE_URL "
        f"(`{command('migrate')}` creates one)"
    )


def runtime_for(settings: Settings, imports: Sequence[str] | None = None) -> Runtime:
    """The runtime for a CLI command: :func:`remit.parts.build_runtime` over ``settings``.

    ``imports`` None composes remit's parts only; a list also the host's modules — ``REMIT_JOB_MODULES`` and
    these (``--import``) — for the commands that run or name the host's jobs (``worker``, ``jobs enqueue``,
    ``schedule list``). Nothing connects yet; the caller owns the runtime and should ``await
    runtime.close()`` when done.
    """
    from remit.parts import build_runtime

    modules = () if imports is None else [*settings.job_modules, *imports]
    try:
        return build_runtime(settings, modules=modules, runs_scheduler=imports is not None)
    except ConfigurationError as exc:
        fail(configuration_message(exc), code=CONFIG_EXIT_CODE)


def load_runtime(imports: Sequence[str] | None = None) -> Runtime:
    """:func:`runtime_for` the validated settings of the environment."""
    return runtime_for(load_settings_or_exit(), imports)


def run_with_runtime(fn: Callable[[Runtime], Awaitable[T]], *, imports: Sequence[str] | None = None) -> T:
    """Run ``fn`` on a fresh runtime (see :func:`runtime_for` for ``imports``) and close it. A database that is
    down or not migrated exits 3 (as ``remit migrate`` does) with one line naming the error type only: a
    driver's message may name hosts and users, and an operator in an outage needs what to check, not a
    traceback. A SQLite file that does not exist exits 3 too, before anything opens it (which would leave an
    empty database file behind)."""
    settings = load_settings_or_exit()
    missing = location.missing_sqlite_file(settings.database_url)
    if missing is not None:
        fail(missing_database_message(missing), code=ExitCode.DATABASE_UNAVAILABLE)

    async def main() -> T:
        runtime = runtime_for(settings, imports)
        try:
            return await fn(runtime)
        finally:
            await runtime.close()
            await _settle_sqlite_threads()

    try:
        return run_async(main())
    except Exception as exc:
        cause = _outage_cause(exc)
        if cause is None:
            raise
        fail(
            f"database unavailable ({type(cause).__name__}); check DATABASE_URL, that the server runs and that "
            f"`{command('migrate')}` has run",
            code=ExitCode.DATABASE_UNAVAILABLE,
        )


def _outage_cause(exc: BaseException) -> BaseException | None:
    """The driver's error behind a database outage — what :func:`run_with_runtime` names — or None when ``exc``
    is not one. remit's own :class:`DatabaseUnavailable` (a worker gave up waiting for the database) wraps it."""
    while isinstance(exc, DatabaseUnavailable) and exc.__cause__ is not None:
        exc = exc.__cause__
    return exc if isinstance(exc, DatabaseUnavailable) or is_unavailable_error(exc) else None


#: aiosqlite names each connection's worker thread after this function (``Thread-1 (<name>)``).
_AIOSQLITE_WORKER = "(_connection_worker_thread)"


async def _settle_sqlite_threads(timeout: float = 1.0) -> None:
    """Once the runtime is closed, let SQLite connections' worker threads finish while the loop still runs.

    aiosqlite (0.22) stops the thread of a connection that failed to open (a missing directory, an unreadable
    file) without waiting for it; when ``asyncio.run`` closes the loop first, the thread prints a
    ``RuntimeError: Event loop is closed`` traceback under the one-line error a command gives. After the
    runtime's close every such thread has been told to stop, so joining each (off the loop) takes
    milliseconds.
    """
    stray = [
        thread
        for thread in threading.enumerate()
        if thread.name.endswith(_AIOSQLITE_WORKER) and thread is not threading.current_thread()
    ]
    for thread in stray:
        await asyncio.to_thread(thread.join, timeout)


__all__ = [
    "CONFIG_EXIT_CODE",
    "configuration_message",
    "dumps",
    "fail",
    "forget_database",
    "load_runtime",
    "load_settings_or_exit",
    "missing_database_message",
    "print_list",
    "print_object",
    "remember_database",
    "run_async",
    "run_with_runtime",
    "runtime_for",
    "to_jsonable",
    "with_database",
]
