"""Inserting job rows: one statement for any number of rows, written per dialect.

Rows travel as one array (PostgreSQL) or one JSON document (SQLite) parameter instead of one bind parameter
per value: the statement text then never changes with the batch size, so the driver's and the server's
statement caches keep working, and a 5,000-row enqueue costs one round trip and no per-value overhead. Unique
jobs rely on the partial unique index over pending rows (``INSERT … ON CONFLICT DO NOTHING``), never on
check-then-insert. On PostgreSQL a statement trigger wakes listening workers when the transaction commits, and
a large batch without unique keys goes by ``COPY`` instead (:func:`copy_rows`).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db import dialect
from remit.db.statements import insert_columns
from remit.db.tables import jobs
from remit.db.tables.jobs import PENDING_STATES_SQL
from remit.errors import JobError

_COLUMNS = (
    "queue",
    "name",
    "args",
    "state",
    "priority",
    "attempt",
    "max_attempts",
    "unique_key",
    "scheduled_at",
    "inserted_at",
    "timeout",
    "errors",
    "meta",
)
_CONFLICT = f"ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND {PENDING_STATES_SQL} DO NOTHING"

_PG_INSERT = sa.text(
    f"INSERT INTO {jobs.name} ({', '.join(_COLUMNS)}) "
    f"SELECT {', '.join('r.' + c for c in _COLUMNS)} FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r("
    "queue text, name text, args jsonb, state text, priority smallint, attempt integer, max_attempts integer, "
    "unique_key text, scheduled_at timestamptz, inserted_at timestamptz, timeout float8, errors jsonb, meta jsonb) "
    f"{_CONFLICT} RETURNING id"
)

_SQLITE_INSERT = sa.text(
    f"INSERT INTO {jobs.name} ({', '.join(_COLUMNS)}) SELECT "
    + ", ".join(f"json_extract(value, '$.{c}')" for c in _COLUMNS)
    + f" FROM json_each(:rows) WHERE true {_CONFLICT} RETURNING id"
)


def _stamp(value: datetime, dialect_name: str) -> str:
    value = value.astimezone(UTC)
    if dialect_name == "sqlite":  # the exact text UtcDateTime stores, so comparisons in SQL stay correct
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return value.isoformat()


def _encode_rows(rows: Sequence[Mapping[str, Any]], dialect_name: str) -> str:
    encoded = []
    sqlite_text = dialect_name == "sqlite"
    for row in rows:
        item = {column: row[column] for column in _COLUMNS}
        item["scheduled_at"] = _stamp(row["scheduled_at"], dialect_name)
        item["inserted_at"] = _stamp(row["inserted_at"], dialect_name)
        if sqlite_text:  # JSON columns are stored as text there
            for column in ("args", "errors", "meta"):
                item[column] = orjson.dumps(item[column], default=str).decode()
        encoded.append(item)
    return orjson.dumps(encoded, default=str).decode()


#: From this many rows without a unique key, PostgreSQL gets them by ``COPY`` (see :func:`copy_rows`).
COPY_FROM_ROWS = 200

#: The batch's ids in one binary array. The sequence is resolved once (an InitPlan): called per row,
#: pg_get_serial_sequence costs more than the rest of the insert.
_NEXT_IDS = (
    f"SELECT array_agg(nextval((SELECT pg_get_serial_sequence('{jobs.name}', 'id')::regclass))) "
    "FROM generate_series(1, %(n)s)"
)
#: COPY's columns: the id and the arguments, which each row has of its own, then the rest (the row's "tail"),
#: which the rows of a batch nearly always share with every row of the same job (see :class:`CopyFormatter`).
COPY_COLUMNS = ("id", "args", *(c for c in _COLUMNS if c != "args"))
_COPY = f"COPY {jobs.name} ({', '.join(COPY_COLUMNS)}) FROM STDIN (FORMAT binary)"

# COPY's binary format: a header (signature, flags, no extension), then per row its field count and each field as
# its length (-1: NULL) and the column type's binary form, then a trailer. Nothing is escaped, and the server
# parses no text for numbers and times (about a tenth of its work for a row of the text format, here). Each
# field must be in its column's own type (bigint, varchar, jsonb, smallint, integer, timestamptz, double
# precision): a migration that changes one changes this too (tests/integration/test_job_engine.py stores a
# batch this way and reads every column back).
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_COPY_TRAILER = b"\xff\xff"
#: A row's start: its field count, its id (bigint) and the length and version byte of its arguments (jsonb).
_ROW_HEAD = struct.Struct(">hiqiB")
_NULL = b"\xff\xff\xff\xff"
_SMALLINT = struct.Struct(">ih")
_INTEGER = struct.Struct(">ii")
_DOUBLE = struct.Struct(">id")
_BIGINT = struct.Struct(">iq")
_LENGTH = struct.Struct(">i")
_JSONB = struct.Struct(">iB")
#: timestamptz counts microseconds from here.
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _copy_string(value: str | None) -> bytes:
    if value is None:
        return _NULL
    data = value.encode()
    return _LENGTH.pack(len(data)) + data


def _copy_jsonb(value: Any) -> bytes:
    data = copy_json(value)
    return _JSONB.pack(len(data) + 1, 1) + data


def copy_json(value: Any) -> bytes:
    """A JSON value as :class:`CopyFormatter` writes it: the row's arguments, most of its jsonb field."""
    return orjson.dumps(value, default=str)


class CopyFormatter:
    """Lays job rows out in ``COPY``'s binary format, a row being its id, its arguments and a tail (pure).

    The arguments and the tail (every other column) are encoded apart: the rows of one job in a batch nearly
    always share their tail, so a batch encodes it once per job and each row costs one JSON encoding of its
    arguments and one short header (see :meth:`remit.jobs.engine.Engine.enqueue_many`). Times are encoded
    once each.
    """

    def __init__(self) -> None:
        self._stamps: dict[datetime, bytes] = {}

    def _stamp(self, value: datetime) -> bytes:
        data = self._stamps.get(value)
        if data is None:
            since = value.astimezone(UTC) - _PG_EPOCH
            micros = (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds
            data = self._stamps[value] = _BIGINT.pack(8, micros)
        return data

    @staticmethod
    def args(row: Mapping[str, Any]) -> bytes:
        return copy_json(row["args"])

    def tail(self, row: Mapping[str, Any]) -> bytes:
        timeout = row["timeout"]
        try:
            numbers = (
                _SMALLINT.pack(2, row["priority"]),
                _INTEGER.pack(4, row["attempt"]),
                _INTEGER.pack(4, row["max_attempts"]),
                _NULL if timeout is None else _DOUBLE.pack(8, timeout),
            )
        except struct.error:  # what the statement would refuse, refused before anything is sent
            raise JobError(
                f"job {row['name']}: priority, attempt, max_attempts or timeout does not fit its column "
                f"({row['priority']!r}, {row['attempt']!r}, {row['max_attempts']!r}, {timeout!r})"
            ) from None
        return b"".join(
            (
                _copy_string(row["queue"]),
                _copy_string(row["name"]),
                _copy_string(row["state"]),
                *numbers[:3],
                _copy_string(row["unique_key"]),
                self._stamp(row["scheduled_at"]),
                self._stamp(row["inserted_at"]),
                numbers[3],
                _copy_jsonb(row["errors"]),
                _copy_jsonb(row["meta"]),
            )
        )


def copy_payload(ids: Sequence[int], args: Sequence[bytes], tails: Sequence[bytes]) -> bytes:
    """The whole ``COPY`` input for :class:`CopyFormatter`'s parts, with their ids (pure)."""
    head, fields = _ROW_HEAD.pack, len(COPY_COLUMNS)
    rows = [_COPY_HEADER]
    rows += [
        head(fields, 8, job_id, len(data) + 1, 1) + data + tail
        for job_id, data, tail in zip(ids, args, tails, strict=True)
    ]
    rows.append(_COPY_TRAILER)
    return b"".join(rows)


def copy_input(ids: Sequence[int], rows: Sequence[Mapping[str, Any]]) -> bytes:
    """``rows`` (with their ids) as ``COPY`` input, columns in the order of :data:`COPY_COLUMNS` (pure)."""
    formatter = CopyFormatter()
    return copy_payload(ids, [formatter.args(row) for row in rows], [formatter.tail(row) for row in rows])


async def copy_rows(conn: AsyncConnection, args: Sequence[bytes], tails: Sequence[bytes]) -> list[int]:
    """Insert rows laid out by :class:`CopyFormatter` by ``COPY`` on the driver's connection, in the caller's
    transaction; their ids, in order.

    For a large batch this is the cheapest way in, for the server (no SQL text, no JSON array of rows to take
    apart, no text to parse for numbers and times) and for this process (the rows are laid out as one block,
    written at once). ``COPY`` returns nothing, so the ids are drawn from the table's sequence first, in one
    round trip, and written with the rows: the caller still gets them in request order. It cannot skip unique
    twins (no ``ON CONFLICT``), so only batches without unique keys come here. The statement trigger that wakes
    workers fires for ``COPY`` as for ``INSERT``.
    """
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    drawn = await (await driver.execute(_NEXT_IDS, {"n": len(args)}, binary=True)).fetchone()
    ids: list[int] = sorted(drawn[0])
    async with driver.cursor() as cursor, cursor.copy(_COPY) as copy:
        await copy.write(copy_payload(ids, args, tails))
    return ids


async def insert_rows(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert job rows in one statement; returns the new ids (unique twins of pending jobs are skipped)."""
    dialect_name = conn.dialect.name
    stmt = _PG_INSERT if dialect_name == "postgresql" else _SQLITE_INSERT
    result = await conn.execute(stmt, {"rows": _encode_rows(rows, dialect_name)})
    return [int(row[0]) for row in result]


def insert_row_sync(conn: Connection, row: Mapping[str, Any]) -> int | None:
    """Insert one job row on a blocking connection; None when a unique twin is pending."""
    stmt = dialect.insert(conn, jobs)
    if row["unique_key"] is not None:
        stmt = stmt.on_conflict_do_nothing(
            index_elements=[jobs.c.unique_key],
            index_where=sa.text(f"unique_key IS NOT NULL AND {PENDING_STATES_SQL}"),
        )
    value: int | None = conn.execute(stmt.returning(jobs.c.id), dict(row)).scalar_one_or_none()
    return value


@cache
def row_columns() -> tuple[sa.Column[Any], ...]:
    """The columns a job row is inserted with (every column but the generated id), in table order."""
    return tuple(insert_columns(jobs))


def insert_from_select(values: Mapping[str, str], source: str) -> str:
    """``INSERT INTO remit_jobs (<every column>) SELECT <values[column]>, … FROM <source>``.

    For a statement that inserts jobs from rows it computes itself — the webhook ingest statement inserts the
    dispatch job of each event it stored, in the same statement. ``values`` gives a SQL expression for every
    column of :func:`row_columns` (a missing or unknown one is an error), ``source`` the ``FROM`` clause.
    """
    names = [column.name for column in row_columns()]
    missing, unknown = set(names) - set(values), set(values) - set(names)
    if missing or unknown:
        raise ValueError(f"job columns missing {sorted(missing)}, unknown {sorted(unknown)}")
    return f"INSERT INTO {jobs.name} ({', '.join(names)}) SELECT {', '.join(values[n] for n in names)} FROM {source}"


__all__ = [
    "COPY_COLUMNS",
    "COPY_FROM_ROWS",
    "CopyFormatter",
    "copy_input",
    "copy_json",
    "copy_payload",
    "copy_rows",
    "insert_from_select",
    "insert_row_sync",
    "insert_rows",
    "row_columns",
]
