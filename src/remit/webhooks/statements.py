"""The ingest statements, as SQL text generated once from the table definitions.

Why text rather than SQLAlchemy's ON CONFLICT constructs: see :mod:`remit.db.statements` (they are compiled
afresh on every call). The text is generated from the :class:`~sqlalchemy.Table` objects, so a column added to
a table cannot be forgotten here; the migration test keeps those in step with the database.

- :func:`event_insert`: a SQLAlchemy text statement for the generic path (SQLite); the generic writer then
  enqueues the dispatch job through the job engine, in the same transaction.
- :func:`ingest_sql`: PostgreSQL, for psycopg: a whole batch of deliveries in one statement — the event rows
  and, only for those actually inserted, their dispatch jobs and ledger entries, as data-modifying CTEs over
  the batch passed as one JSON array (``json_to_recordset``) and the bodies, end to end, as one binary
  parameter each row slices its own out of. One round trip, one commit, one trigger run however many
  deliveries the batch holds, and one statement text, so psycopg prepares it once per connection. The job
  insert is the engine's own fragment (:meth:`remit.jobs.engine.Engine.insert_from_select`): this module says
  how each job column is computed from the batch, never which table or columns a job has. JSON
  rather than one array per column, because psycopg escapes array elements in Python; bodies apart, so they
  are neither escaped into JSON nor parsed back out of it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.selectable import TextualSelect

from remit.db.statements import insert_columns, upsert
from remit.db.tables import ledger_events, webhook_events
from remit.jobs.engine import Engine

#: Job columns the PostgreSQL statement computes from the new row id instead of taking as parameters.
JOB_COMPUTED = ("args", "unique_key")


def _text_insert(table: sa.Table, *, conflict: tuple[str, ...] = ()) -> TextualSelect:
    stmt = upsert(table, conflict=conflict, returning=("id",))
    return stmt.columns(sa.column("id", sa.BigInteger))


@cache
def event_insert() -> TextualSelect:
    """The event row, or no row when (processor, event_id) is already stored."""
    return _text_insert(webhook_events, conflict=("processor", "event_id"))


def _pg_type(column: sa.Column[Any]) -> str:
    return str(column.type.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]


#: The one column the batch statement takes out of a binary parameter rather than a JSON field.
BODY_COLUMN = "body"


def batch_columns() -> list[tuple[str, sa.Column[Any]]]:
    """The fields of each delivery in the batch statement's JSON array, as (field name, column it fills)."""
    columns = [(f"ev_{c.name}", c) for c in insert_columns(webhook_events) if c.name != BODY_COLUMN]
    job_columns = {c.name: c for c in Engine.row_columns()}
    columns += [(f"job_{name}", c) for name, c in job_columns.items() if name not in JOB_COMPUTED]
    columns += [(f"led_{c.name}", c) for c in insert_columns(ledger_events)]
    position = webhook_events.c.attempts  # any INTEGER column: the type is what counts
    return [
        *columns,
        ("job_key_prefix", job_columns["unique_key"]),
        ("with_job", webhook_events.c.livemode),
        ("body_start", position),
        ("body_length", position),
    ]


@cache
def ingest_sql() -> str:
    """PostgreSQL (psycopg): a batch of deliveries in two parameters.

    ``rows`` is a JSON array of one object per delivery; ``bodies`` the UTF-8 bodies end to end (bytes), each
    delivery's being ``body_length`` bytes from byte ``body_start`` (1-based). Fields of each object (see
    :func:`batch_columns`): every event column but ``body`` as ``ev_<column>``; every job column but ``args``
    and ``unique_key`` as ``job_<column>``; every ledger column as ``led_<column>`` (``data`` without the row
    id, which SQL adds); ``job_key_prefix`` (the job's unique key is the prefix and the row id, see
    :class:`remit.webhooks.dispatch.ByEventRow`), ``with_job``, ``body_start``, ``body_length``. Times are ISO
    8601 with their offset. The batch must not hold one event twice. Returns ``(id, processor, event_id)`` for
    each row inserted; a delivery without a returned row was a duplicate.
    """
    fields = ", ".join(f"{name} {_pg_type(column)}" for name, column in batch_columns())
    body = "convert_from(substring(CAST(%(bodies)s AS BYTEA) FROM input.body_start FOR input.body_length), 'UTF8')"
    ev_columns = [c.name for c in insert_columns(webhook_events)]
    ev_select = ", ".join(body if name == BODY_COLUMN else f"input.ev_{name}" for name in ev_columns)
    job_values = {c.name: f"input.job_{c.name}" for c in Engine.row_columns()}
    job_values.update(
        args="jsonb_build_object('webhook_event_id', ev.id)",
        unique_key="input.job_key_prefix || CAST(ev.id AS TEXT)",
    )
    led_select = ", ".join(
        "input.led_data || jsonb_build_object('webhook_event_id', ev.id)" if c.name == "data" else f"input.led_{c.name}"
        for c in insert_columns(ledger_events)
    )
    joined = "ev JOIN input ON input.ev_processor = ev.processor AND input.ev_event_id = ev.event_id"
    return (
        f"WITH input AS (SELECT * FROM json_to_recordset(CAST(%(rows)s AS JSON)) AS t({fields})), "
        f"ev AS (INSERT INTO {webhook_events.name} ({', '.join(ev_columns)}) SELECT {ev_select} FROM input "
        f"ON CONFLICT (processor, event_id) DO NOTHING RETURNING id, processor, event_id), "
        f"job AS ({Engine.insert_from_select(job_values, f'{joined} WHERE input.with_job')} RETURNING id), "
        f"led AS (INSERT INTO {ledger_events.name} ({', '.join(c.name for c in insert_columns(ledger_events))}) "
        f"SELECT {led_select} FROM {joined} ON CONFLICT (idempotency_key) DO NOTHING RETURNING id) "
        f"SELECT id, processor, event_id FROM ev"
    )


__all__ = ["BODY_COLUMN", "JOB_COMPUTED", "batch_columns", "event_insert", "ingest_sql"]
