"""The engine's bulk statements, written per dialect so one statement carries any number of rows.

Rows travel as one array (PostgreSQL) or one JSON document (SQLite) parameter instead of one bind parameter
per value: the statement text then never changes with the batch size, so the driver's and the server's
statement caches keep working, and a 5,000-row enqueue costs one round trip and no per-value overhead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db.tables.jobs import PENDING_STATES_SQL
from remit.db.types import UtcDateTime

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
    f"INSERT INTO remit_jobs ({', '.join(_COLUMNS)}) "
    f"SELECT {', '.join('r.' + c for c in _COLUMNS)} FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r("
    "queue text, name text, args jsonb, state text, priority smallint, attempt integer, max_attempts integer, "
    "unique_key text, scheduled_at timestamptz, inserted_at timestamptz, timeout float8, errors jsonb, meta jsonb) "
    f"{_CONFLICT} RETURNING id"
)

_SQLITE_INSERT = sa.text(
    f"INSERT INTO remit_jobs ({', '.join(_COLUMNS)}) SELECT "
    + ", ".join(f"json_extract(value, '$.{c}')" for c in _COLUMNS)
    + f" FROM json_each(:rows) WHERE true {_CONFLICT} RETURNING id"
)

# Completions are grouped by attempt (nearly always a single group): "id = ANY(ids) AND attempt = n" fetches
# by primary key, where a join against (id, attempt) pairs would tempt the planner into a nested loop.
_PG_COMPLETE = sa.text(
    "UPDATE remit_jobs SET state = 'completed', finished_at = :now "
    "WHERE id = ANY(CAST(:ids AS bigint[])) AND attempt = :attempt AND state = 'executing'"
).bindparams(sa.bindparam("now", type_=UtcDateTime()))

_SQLITE_COMPLETE = sa.text(
    "UPDATE remit_jobs SET state = 'completed', finished_at = :now "
    "WHERE id IN (SELECT value FROM json_each(:ids)) AND attempt = :attempt AND state = 'executing'"
).bindparams(sa.bindparam("now", type_=UtcDateTime()))


def _stamp(value: datetime, dialect: str) -> str:
    value = value.astimezone(UTC)
    if dialect == "sqlite":  # the exact text UtcDateTime stores, so comparisons in SQL stay correct
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return value.isoformat()


def _encode_rows(rows: Sequence[dict[str, Any]], dialect: str) -> str:
    encoded = []
    sqlite_text = dialect == "sqlite"
    for row in rows:
        item = {column: row[column] for column in _COLUMNS}
        item["scheduled_at"] = _stamp(row["scheduled_at"], dialect)
        item["inserted_at"] = _stamp(row["inserted_at"], dialect)
        if sqlite_text:  # JSON columns are stored as text there
            for column in ("args", "errors", "meta"):
                item[column] = orjson.dumps(item[column], default=str).decode()
        encoded.append(item)
    return orjson.dumps(encoded, default=str).decode()


async def insert_rows(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert job rows in one statement; returns the new ids (unique twins of pending jobs are skipped)."""
    dialect = conn.dialect.name
    stmt = _PG_INSERT if dialect == "postgresql" else _SQLITE_INSERT
    result = await conn.execute(stmt, {"rows": _encode_rows(rows, dialect)})
    return [int(row[0]) for row in result]


async def complete_runs(conn: AsyncConnection, runs: Sequence[tuple[int, int]], now: datetime) -> int:
    """Mark ``(id, attempt)`` runs completed where they are still executing; returns how many matched."""
    by_attempt: dict[int, list[int]] = {}
    for job_id, attempt in runs:
        by_attempt.setdefault(attempt, []).append(job_id)
    postgres = conn.dialect.name == "postgresql"
    stmt = _PG_COMPLETE if postgres else _SQLITE_COMPLETE
    matched = 0
    for attempt, ids in by_attempt.items():
        params = {"now": now, "attempt": attempt, "ids": ids if postgres else json.dumps(ids)}
        matched += (await conn.execute(stmt, params)).rowcount
    return matched
