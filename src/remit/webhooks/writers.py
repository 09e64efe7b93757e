"""Writing a verified event durably: its row, its dispatch job and its ledger entry, all or nothing.

Two writers, one contract (:class:`EventWriter`): return the new row's id, or None when the event was stored
before — and commit before returning, so the endpoint never answers 2xx without a durable row.

- :class:`TransactionWriter` (any database; the default on SQLite): three statements in one transaction on
  the runtime's SQLAlchemy engine — the event, the dispatch job through the job engine's enqueue, the ledger
  entry through :func:`remit.ledger.record`.
- :class:`PostgresWriter` (PostgreSQL, the service's hot path): the deliveries that arrive together are
  written by one statement (:func:`~remit.webhooks.statements.ingest_sql`) on a small psycopg pool of its
  own. Measured on the target machine, a statement through SQLAlchemy's async engine costs about 300 µs of
  CPU against about 40 µs straight through psycopg, and a commit per delivery costs the database more than
  the inserts: sharing statements and commits is what lets one process take a third of what a bare endpoint
  does. The rows are built by the same pure functions as the generic path, and the ledger row follows
  :func:`remit.ledger.record`'s contract (current schema version, identifiers-only data, the same
  idempotency key); the integration tests check that both writers write the same rows.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from sqlalchemy.engine import make_url

from remit import ledger
from remit.db.engine import is_unavailable_error
from remit.errors import DatabaseUnavailable
from remit.runtime import Runtime
from remit.webhooks import statements
from remit.webhooks.dispatch import dispatch_key_prefix
from remit.webhooks.events import EventStatus
from remit.webhooks.rows import (
    LEDGER_ACTOR,
    LEDGER_TYPE,
    job_request,
    job_row,
    ledger_data,
    ledger_key,
    ledger_subject,
)

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

log = logging.getLogger("remit.webhooks")

#: The longest a delivery waits for a pooled connection before it is answered 503.
MAX_POOL_WAIT = 10.0
#: At most this many deliveries per batch, and this many batches in flight at once (each on a connection of
#: its own). Few batches in flight make for bigger batches: fewer commits for the same deliveries.
MAX_BATCH = 200
MAX_FLUSHERS = 4


class EventWriter(Protocol):
    async def store(self, runtime: Runtime, row: dict[str, Any]) -> int | None: ...

    async def close(self) -> None: ...


class TransactionWriter:
    """The generic writer: event insert, then (only when new) job insert and ledger entry, one transaction."""

    async def store(self, runtime: Runtime, row: dict[str, Any]) -> int | None:
        async with runtime.db.begin() as conn:
            event_row_id = (await conn.execute(statements.event_insert(), row)).scalar_one_or_none()
            if event_row_id is None:
                return None
            if row["status"] == EventStatus.RECEIVED.value:
                request = job_request(runtime, event_row_id)
                await runtime.engine.enqueue_many(conn, [request], now=row["received_at"])
            await ledger.record(
                conn,
                type=LEDGER_TYPE,
                subject=ledger_subject(row),
                actor=LEDGER_ACTOR,
                data={"webhook_event_id": event_row_id, **ledger_data(row)},
                idempotency_key=ledger_key(row["processor"], row["event_id"]),
            )
        return int(event_row_id)

    async def close(self) -> None:
        return None


def psycopg_conninfo(database_url: str) -> str:
    """The libpq URI for a remit ``DATABASE_URL`` (whatever driver name it was given with)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class _Pending:
    """One delivery waiting for its batch: its key, its batch fields as a JSON object without the closing
    brace (the body's position is appended once the batch is laid out), its body, and its answer."""

    key: tuple[str, str]
    fields: bytes
    body: bytes
    future: asyncio.Future[int | None]


class PostgresWriter:
    """The PostgreSQL writer: deliveries arriving together are written together.

    Deliveries waiting when a connection frees up are written together by one execution of
    :func:`~remit.webhooks.statements.ingest_sql` — one round trip, one commit (group commit done by the
    application) — and each caller is answered once that statement has committed. At low load a batch is a
    single delivery and nothing waits. A second copy of an event in the same batch is held back and answered
    as the duplicate it is once the batch has committed. When a batch fails for any reason but an unreachable
    database, its deliveries are retried one by one, so one bad row cannot fail the others. When the database
    went away (an operator terminated the connections, the server restarted), the batch is answered 503 and
    the pool's idle connections are tested at once, so the deliveries that follow get fresh connections
    instead of one more 503 per dead connection left in the pool.
    """

    def __init__(self, database_url: str, *, max_size: int, timeout: float, max_batch: int = MAX_BATCH) -> None:
        from psycopg_pool import AsyncConnectionPool

        self._max_flushers = max(1, min(max_size, MAX_FLUSHERS))
        self._pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            psycopg_conninfo(database_url),
            min_size=self._max_flushers,  # one connection per batch in flight, opened up front
            max_size=self._max_flushers,
            timeout=timeout,
            kwargs={"autocommit": True},
            open=False,
            name="remit-webhooks",
        )
        self._opened = False
        self._opening = asyncio.Lock()
        self._pending: list[_Pending] = []
        self._flushers = 0
        self._max_batch = max_batch
        self._tasks: set[asyncio.Task[None]] = set()
        self._constants: bytes | None = None
        self._checking: asyncio.Task[None] | None = None

    async def store(self, runtime: Runtime, row: dict[str, Any]) -> int | None:
        if not self._opened:
            async with self._opening:  # the first deliveries all wait for the pool to be open
                if not self._opened:
                    await self._pool.open(wait=False)
                    self._opened = True
        pending = _Pending(
            (row["processor"], row["event_id"]),
            self._fields(runtime, row),
            row["body"].encode(),
            asyncio.get_running_loop().create_future(),
        )
        self._pending.append(pending)
        if self._flushers < self._max_flushers:
            self._flushers += 1
            task = asyncio.create_task(self._flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await pending.future

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                await self._write(batch)
        finally:
            self._flushers -= 1

    async def _write(self, batch: list[_Pending]) -> None:
        firsts: dict[tuple[str, str], _Pending] = {}
        repeats: list[_Pending] = []
        for item in batch:
            if item.key in firsts:
                repeats.append(item)
            else:
                firsts[item.key] = item
        try:
            inserted = await self._execute(list(firsts.values()))
        except Exception as exc:
            if len(batch) > 1 and not is_unavailable_error(exc) and not isinstance(exc, DatabaseUnavailable):
                for item in batch:  # find the bad row; let the others through
                    await self._write([item])
                return
            error = _unavailable(exc)
            if isinstance(error, DatabaseUnavailable):
                self._check_pool_soon()
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(error)
            return
        for key, item in firsts.items():
            if not item.future.done():
                item.future.set_result(inserted.get(key))
        for item in repeats:
            if not item.future.done():
                item.future.set_result(None)

    async def _execute(self, batch: list[_Pending]) -> dict[tuple[str, str], int]:
        """Write one batch; the new row id of each (processor, event id) that was inserted."""
        from psycopg_pool import PoolTimeout

        objects = []
        start = 1
        for item in batch:
            objects.append(item.fields + b',"body_start":%d,"body_length":%d}' % (start, len(item.body)))
            start += len(item.body)
        params = {"rows": (b"[" + b",".join(objects) + b"]").decode(), "bodies": b"".join(i.body for i in batch)}
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(statements.ingest_sql(), params, prepare=True)
                return {(processor, event_id): int(row_id) for row_id, processor, event_id in await cursor.fetchall()}
        except PoolTimeout as exc:
            raise DatabaseUnavailable("no database connection within the pool timeout") from exc

    def _fields(self, runtime: Runtime, row: dict[str, Any]) -> bytes:
        """The batch fields of one delivery but its body (see :func:`~remit.webhooks.statements.ingest_sql`),
        as a JSON object missing its closing brace; the fields all deliveries share are serialised once.
        orjson writes aware datetimes as RFC 3339, which PostgreSQL reads as ``timestamptz``."""
        if self._constants is None:
            self._constants = orjson.dumps(self._constant_fields(runtime))[1:-1]
        now = row["received_at"]
        fields = {f"ev_{name}": value for name, value in row.items() if name != statements.BODY_COLUMN}
        fields.update(
            job_scheduled_at=now,
            job_inserted_at=now,
            led_subject=ledger_subject(row),
            led_data=ledger_data(row),
            led_idempotency_key=ledger_key(row["processor"], row["event_id"]),
            led_recorded_at=now,
            with_job=row["status"] == EventStatus.RECEIVED.value,
        )
        return orjson.dumps(fields)[:-1] + b"," + self._constants

    @staticmethod
    def _constant_fields(runtime: Runtime) -> dict[str, Any]:
        """The fields every delivery of this runtime shares: the dispatch job as
        :func:`~remit.webhooks.rows.job_row` builds it (its times are set per delivery), the ledger entry's
        type, schema version and actor."""
        job = job_row(runtime, 0, datetime.fromtimestamp(0, UTC))
        per_delivery = {*statements.JOB_COMPUTED, "scheduled_at", "inserted_at"}
        fields = {f"job_{name}": value for name, value in job.items() if name not in per_delivery}
        fields.update(
            led_type=LEDGER_TYPE,
            led_schema_version=ledger.default_registry.current_version(LEDGER_TYPE),
            led_actor=LEDGER_ACTOR,
            job_key_prefix=dispatch_key_prefix(),
        )
        return fields

    def _check_pool_soon(self) -> None:
        """Test the pool's idle connections in the background, replacing broken ones (one test at a time)."""
        if self._checking is None or self._checking.done():
            self._checking = asyncio.create_task(self._check_pool())

    async def _check_pool(self) -> None:
        try:
            await self._pool.check()
        except Exception as exc:  # the next delivery finds out again; never let a background task die noisily
            log.warning("webhook writer: checking the pool failed", extra={"error_type": type(exc).__name__})

    async def close(self) -> None:
        if self._checking is not None:
            await asyncio.gather(self._checking, return_exceptions=True)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._opened:
            await self._pool.close()
            self._opened = False


def _unavailable(exc: BaseException) -> BaseException:
    """The error a waiting delivery is given: :class:`DatabaseUnavailable` for a database that is not there
    (the endpoint answers 503), the original error otherwise."""
    if isinstance(exc, DatabaseUnavailable) or not is_unavailable_error(exc):
        return exc
    unavailable = DatabaseUnavailable(f"database unreachable ({type(exc).__name__})")
    unavailable.__cause__ = exc
    return unavailable


def writer_for(runtime: Runtime) -> EventWriter:
    """The fastest writer for the runtime's database."""
    if runtime.db.is_postgres:
        timeout = min(runtime.settings.db_connect_timeout, MAX_POOL_WAIT) or MAX_POOL_WAIT
        return PostgresWriter(runtime.settings.database_url, max_size=runtime.settings.db_pool_size, timeout=timeout)
    return TransactionWriter()


__all__ = ["EventWriter", "PostgresWriter", "TransactionWriter", "psycopg_conninfo", "writer_for"]
