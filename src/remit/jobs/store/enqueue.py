"""Inserting job rows: one statement for any number of rows, written per dialect.

Rows travel as one array (PostgreSQL) or one JSON document (SQLite) parameter instead of one bind parameter
per value: the statement text then never changes with the batch size, so the driver's and the server's
statement caches keep working, and a 5,000-row enqueue costs one round trip and no per-value overhead. Unique
jobs rely on the partial unique index over pending rows (``INSERT … ON CONFLICT DO NOTHING``), never on
check-then-insert. On PostgreSQL a statement trigger wakes listening workers when the transaction commits, and
a large batch without unique keys goes by ``COPY`` instead (:func:`_copy_rows`).
"""

from __future__ import annotations

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


#: From this many rows without a unique key, PostgreSQL gets them by ``COPY`` (see :func:`_copy_rows`).
COPY_FROM_ROWS = 200

_NEXT_IDS = f"SELECT nextval(pg_get_serial_sequence('{jobs.name}', 'id')) FROM generate_series(1, %(n)s)"
_COPY = f"COPY {jobs.name} (id, {', '.join(_COLUMNS)}) FROM STDIN"
#: What COPY's text format escapes inside a field.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str | None) -> str:
    if value is None:
        return "\\N"
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def _copy_json(value: Any) -> str:
    if not value and isinstance(value, list | dict):  # most rows' errors and meta
        return "[]" if isinstance(value, list) else "{}"
    # orjson escapes every control character inside JSON strings, so only its backslashes need doubling.
    return orjson.dumps(value, default=str).decode().replace("\\", "\\\\")


def _copy_number(value: float | None) -> str:
    return "\\N" if value is None else repr(value)


def copy_text(ids: Sequence[int], rows: Sequence[Mapping[str, Any]]) -> bytes:
    """The rows (with their ids) in ``COPY``'s text format (pure). The times of a batch are nearly always the
    same few values, so each is formatted once."""
    stamps: dict[datetime, str] = {}

    def stamp(value: datetime) -> str:
        text = stamps.get(value)
        if text is None:
            text = stamps[value] = value.astimezone(UTC).isoformat()
        return text

    lines = [
        "\t".join(
            (
                str(job_id),
                _copy_text(row["queue"]),
                _copy_text(row["name"]),
                _copy_json(row["args"]),
                _copy_text(row["state"]),
                str(int(row["priority"])),
                str(int(row["attempt"])),
                str(int(row["max_attempts"])),
                _copy_text(row["unique_key"]),
                stamp(row["scheduled_at"]),
                stamp(row["inserted_at"]),
                _copy_number(row["timeout"]),
                _copy_json(row["errors"]),
                _copy_json(row["meta"]),
            )
        )
        for job_id, row in zip(ids, rows, strict=True)
    ]
    lines.append("")
    return "\n".join(lines).encode()


async def _copy_rows(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert rows by ``COPY`` on the driver's connection, in the caller's transaction.

    For a large batch this is the cheapest way in, for the server (no SQL text, no JSON array of rows to take
    apart) and for this process (the rows are laid out as one text block, written at once): about three times
    the rows per second of the JSON statement on this machine. ``COPY`` returns nothing, so the ids are drawn
    from the table's sequence first, in one round trip, and written with the rows: the caller still gets them
    in request order. It cannot skip unique twins (no ``ON CONFLICT``), so only batches without unique keys
    come here. The statement trigger that wakes workers fires for ``COPY`` as for ``INSERT``.
    """
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    ids = [int(row[0]) for row in await (await driver.execute(_NEXT_IDS, {"n": len(rows)})).fetchall()]
    async with driver.cursor() as cursor, cursor.copy(_COPY) as copy:
        await copy.write(copy_text(ids, rows))
    return ids


async def insert_rows(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert job rows in one statement; returns the new ids (unique twins of pending jobs are skipped).
    On PostgreSQL a batch of :data:`COPY_FROM_ROWS` or more without unique keys goes by ``COPY``."""
    dialect_name = conn.dialect.name
    if dialect_name == "postgresql" and len(rows) >= COPY_FROM_ROWS and all(r["unique_key"] is None for r in rows):
        return await _copy_rows(conn, rows)
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


__all__ = ["insert_from_select", "insert_row_sync", "insert_rows", "row_columns"]
