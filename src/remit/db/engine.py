"""Engines per dialect: one async engine for the service and workers, a sync one for migrations and hosts.

SQLite is made fit for several processes: WAL journal, a busy timeout, and ``BEGIN IMMEDIATE`` for every
transaction, so two writers queue on the lock instead of failing half-way with ``database is locked``. It runs
with ``synchronous = FULL``: a webhook answered 2xx must survive a power cut, and WAL's usual ``NORMAL`` may
lose the last commits then (it only survives a crash of the process). The cost, one fsync per commit, is what
batched claims and completions are for.

:meth:`Database.read` is the one exception to ``BEGIN IMMEDIATE``: a transaction that only reads, on a
connection of its own, begins deferred, takes no write lock and so never waits for a writer (WAL lets readers
through), even for one in this very task. Its connections come from a pool of their own, apart from the main
one, that never makes a reader wait (on PostgreSQL; SQLite opens a file, which costs nothing).

A SQLite connection whose statement failed because the file could not be opened, read or written
(``SQLITE_READONLY``, ``SQLITE_IOERR``, ``SQLITE_CANTOPEN``, ``SQLITE_FULL``) is treated as a lost connection:
SQLAlchemy discards it and every other pooled one, and the next use opens afresh. A connection opened while the
file or its folder could not be written stays read-only for its whole life, so without this a service whose
database became writable again kept failing (503 for every webhook, no claim) until it was restarted.

PostgreSQL connections give up after :data:`PG_CONNECT_TIMEOUT_S`, so a server behind a firewall that drops
packets makes a request fail (503, so the processor retries) instead of hanging until TCP gives up.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from remit.db.errors import is_unavailable_error
from remit.errors import DatabaseUnavailable

log = logging.getLogger("remit.db")

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Execution option marking a connection's transactions as read-only: on SQLite they begin deferred.
READ_ONLY_OPTION = "remit_read_only"
#: Idle PostgreSQL connections :meth:`Database.read` keeps for reuse (more are opened when needed, and closed).
READER_POOL_SIZE = 8
PG_CONNECT_TIMEOUT_S = 10


def _base_url(url: str | URL) -> URL:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgres":
        parsed = parsed.set(drivername="postgresql")
    return parsed


def async_url(url: str | URL) -> URL:
    """The URL with the async driver remit uses for its dialect."""
    parsed = _base_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    return parsed.set(drivername="postgresql+psycopg")


def sync_url(url: str | URL) -> URL:
    """The URL with the blocking driver remit uses for its dialect (migrations, hosts' sync code)."""
    parsed = _base_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite")
    return parsed.set(drivername="postgresql+psycopg")


#: SQLite primary result codes that mean "the file cannot be used as it is now" rather than a busy lock or a bad
#: statement: READONLY (8), IOERR (10), CANTOPEN (14), FULL (13).
SQLITE_FILE_FAULTS = frozenset({8, 10, 13, 14})


def is_sqlite_file_fault(exc: BaseException | None) -> bool:
    """Whether ``exc`` is sqlite3's error for a database file that cannot be opened, read or written (pure)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and isinstance(code, int) and (code & 0xFF) in SQLITE_FILE_FAULTS


@dataclass
class WriteFaults:
    """The last file fault this process's SQLite connections met, until a transaction commits again: a
    database that stopped taking writes (disk full, I/O errors) is reported ``down`` by ``/health`` even when
    its file's permissions look fine."""

    last: str | None = None


def _configure_sqlite(engine: Engine, faults: WriteFaults | None = None) -> None:
    @event.listens_for(engine, "handle_error")
    def _on_error(context: sa.engine.ExceptionContext) -> None:
        if is_sqlite_file_fault(context.original_exception):
            context.is_disconnect = True  # discard this connection and the pool's others; reopen on next use
            if faults is not None:
                name = getattr(context.original_exception, "sqlite_errorname", None)
                faults.last = name if isinstance(name, str) else type(context.original_exception).__name__

    if faults is not None:

        @event.listens_for(engine, "commit")
        def _on_commit(_connection: sa.Connection) -> None:
            faults.last = None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def create_sync_engine(url: str | URL, **kwargs: Any) -> Engine:
    target = sync_url(url)
    if target.get_backend_name() == "postgresql":
        kwargs.setdefault("connect_args", {"connect_timeout": PG_CONNECT_TIMEOUT_S})
    engine = sa.create_engine(target, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _async_engine(
    url: str, *, pool_size: int | None = None, faults: WriteFaults | None = None, **kwargs: Any
) -> AsyncEngine:
    """An async engine on ``url`` configured for remit's dialects (pooled with ``pool_size`` on PostgreSQL)."""
    target = async_url(url)
    if target.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
        if pool_size is not None:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False)
    engine = create_async_engine(target, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine.sync_engine, faults)
    return engine


@dataclass
class Database:
    """The one SQL database remit keeps everything in."""

    url: str
    engine: AsyncEngine
    _sync_engine: Engine | None = field(default=None, repr=False)
    _reader: AsyncEngine | None = field(default=None, repr=False)
    #: File faults met by this process's SQLite connections (see :class:`WriteFaults`).
    write_faults: WriteFaults = field(default_factory=WriteFaults, repr=False)
    #: Execution options every connection of this database carries (:meth:`bind_option`).
    _bound: dict[str, object] = field(default_factory=dict, repr=False)

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = 10, echo: bool = False) -> Database:
        faults = WriteFaults()
        engine = _async_engine(url, echo=echo, pool_size=pool_size, faults=faults)
        return cls(url=url, engine=engine, write_faults=faults)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def sync_engine(self) -> Engine:
        """A blocking engine on the same database, made on first use."""
        if self._sync_engine is None:
            self._sync_engine = create_sync_engine(self.url)
        return self._sync_engine

    def bind_option(self, key: str, value: object) -> None:
        """Make every connection of this database — its reader's too, and those opened later — carry the
        execution option ``key`` = ``value`` (``conn.sync_engine.get_execution_options()[key]``). The runtime that owns
        this database binds itself so, and a function handed only the caller's connection finds it there
        (:func:`remit.runtime.runtime_of`)."""
        self._bound[key] = value
        self.engine.sync_engine.update_execution_options(**{key: value})
        if self._reader is not None:
            self._reader.sync_engine.update_execution_options(**{key: value})

    def begin(self) -> Any:
        """``async with db.begin() as conn``: one transaction, committed on success."""
        return self.engine.begin()

    def connect(self) -> Any:
        return self.engine.connect()

    def read(self) -> Any:
        """``async with db.read() as conn``: one transaction for reads only, on a connection of its own.

        For reading while the caller's own transaction is open (the mirror lists an invoice's lines from the
        fake processor, over this database, inside its dispatch transaction), so it must wait for nothing that
        transaction holds. It begins deferred instead of ``BEGIN IMMEDIATE`` on SQLite, so it does not queue
        behind the write lock; and its connection comes from a pool of its own, apart from the callers' (on
        SQLite it is opened for it and closed after; on PostgreSQL the pool keeps :data:`READER_POOL_SIZE` for
        reuse and opens more rather than wait), so it never waits for a pooled connection while callers
        holding the others wait for it. A write in it
        would have to upgrade SQLite's lock and may fail with ``database is locked``: use :meth:`begin`.
        """
        return self.reader_engine.begin()

    @property
    def reader_engine(self) -> AsyncEngine:
        """The engine :meth:`read` opens its connections on (made on first use)."""
        if self._reader is None:
            pooling: dict[str, Any] = {"poolclass": sa.pool.NullPool}
            if async_url(self.url).get_backend_name() == "postgresql":
                # Its own pool, never waited on (unbounded overflow), pinged at checkout: opening a PostgreSQL
                # connection costs tens of milliseconds under load, paid before on every read (the fake
                # processor answers each GET with one), and the pool of callers holding the others is apart.
                pooling = {
                    "pool_size": READER_POOL_SIZE,
                    "max_overflow": -1,
                    "pool_pre_ping": True,
                }
            self._reader = _async_engine(self.url, execution_options={**self._bound, READ_ONLY_OPTION: True}, **pooling)
        return self._reader

    async def ping(self) -> None:
        """Run ``SELECT 1``; raise :class:`DatabaseUnavailable` when the database does not answer."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception as exc:
            if is_unavailable_error(exc):
                raise DatabaseUnavailable(f"database unreachable ({type(exc).__name__})") from exc
            raise

    async def wait_until_reachable(self, timeout: float, *, log_each_try: bool = True) -> None:
        """Retry :meth:`ping` with exponential backoff for up to ``timeout`` seconds, one log line per try."""
        deadline = time.monotonic() + timeout
        delay, attempt = 0.5, 0
        while True:
            attempt += 1
            try:
                await self.ping()
                return
            except DatabaseUnavailable as exc:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DatabaseUnavailable(
                        f"database still unreachable after {attempt} tries in {timeout:g}s"
                    ) from exc
                wait = min(delay, remaining)
                if log_each_try:
                    log.warning(
                        "database not reachable (try %d, %s); retrying in %.1fs",
                        attempt,
                        exc.__cause__.__class__.__name__,
                        wait,
                    )
                await asyncio.sleep(wait)
                delay = min(delay * 2, 5.0)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._reader is not None:
            await self._reader.dispose()
        if self._sync_engine is not None:
            self._sync_engine.dispose()


__all__ = [
    "READER_POOL_SIZE",
    "READ_ONLY_OPTION",
    "AsyncConnection",
    "Database",
    "WriteFaults",
    "async_url",
    "create_sync_engine",
    "is_sqlite_file_fault",
    "is_unavailable_error",
    "sync_url",
]
