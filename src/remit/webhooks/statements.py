"""The ingest statements, as SQL text generated once from the table definitions.

Why text rather than ``insert(...).on_conflict_do_nothing()``: SQLAlchemy 2.0 does not cache the compiled form
of the dialects' ON CONFLICT inserts, so every call compiles afresh — about a millisecond of CPU, more than
everything else ingest does. Text statements are cached (SQLAlchemy) or prepared (psycopg) like any other. The
text is generated from the :class:`~sqlalchemy.Table` objects, so a column added to a table cannot be forgotten
here; the migration test keeps those in step with the database.

- :func:`event_insert`, :func:`job_insert`: SQLAlchemy text statements for the generic path (SQLite), run one
  after another in one transaction.
- :func:`ingest_sql`: PostgreSQL, for psycopg: the event insert and — only when it inserted a row — the
  dispatch job and the ledger entry, as data-modifying CTEs. One statement, one round trip, atomic on its own.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.selectable import TextualSelect

from remit.db.tables import jobs, ledger_events, webhook_events

#: Job columns the PostgreSQL statement computes from the new row id instead of taking as parameters.
JOB_COMPUTED = ("args", "unique_key")


def insert_columns(table: sa.Table) -> list[sa.Column[Any]]:
    """The columns an insert names: all but an autoincrementing primary key."""
    return [column for column in table.c if not (column.primary_key and column.autoincrement is not False)]


def _text_insert(table: sa.Table, *, conflict: tuple[str, ...] = ()) -> TextualSelect:
    names = [column.name for column in insert_columns(table)]
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"
    if conflict:
        sql += f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING"
    params = [sa.bindparam(column.name, type_=column.type) for column in insert_columns(table)]
    return sa.text(sql + " RETURNING id").bindparams(*params).columns(sa.column("id", sa.BigInteger))


@cache
def event_insert() -> TextualSelect:
    """The event row, or no row when (processor, event_id) is already stored."""
    return _text_insert(webhook_events, conflict=("processor", "event_id"))


@cache
def job_insert() -> TextualSelect:
    """The dispatch job of a row inserted in this same transaction. It cannot have a pending twin yet, so a
    plain insert is right (and the unique index still guards it)."""
    return _text_insert(jobs)


def _pg_type(column: sa.Column[Any]) -> str:
    return str(column.type.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]


def _cast(name: str, column: sa.Column[Any]) -> str:
    return f"CAST(%({name})s AS {_pg_type(column)})"


@cache
def ingest_sql() -> str:
    """PostgreSQL (psycopg ``%(name)s`` parameters): event, job (when ``with_job``), ledger entry.

    Parameters: every event column as ``ev_<column>``; every job column but ``args`` and ``unique_key`` as
    ``job_<column>``, and ``job_key_prefix`` (the unique key is the prefix and the row id, see
    :class:`remit.webhooks.dispatch.ByEventRow`); every ledger column as ``led_<column>`` (its ``data``
    without the row id, which SQL adds); ``with_job``. Returns the new row's ``id``, or no row for a duplicate.
    """
    ev_columns = insert_columns(webhook_events)
    ev_names = ", ".join(c.name for c in ev_columns)
    ev_values = ", ".join(f"%(ev_{c.name})s" for c in ev_columns)
    computed = {
        "args": "jsonb_build_object('webhook_event_id', ev.id)",
        "unique_key": "CAST(%(job_key_prefix)s AS TEXT) || CAST(ev.id AS TEXT)",
    }
    job_columns = insert_columns(jobs)
    job_select = ", ".join(computed.get(c.name, _cast(f"job_{c.name}", c)) for c in job_columns)
    led_columns = insert_columns(ledger_events)
    led_select = ", ".join(
        f"{_cast('led_data', c)} || jsonb_build_object('webhook_event_id', ev.id)" if c.name == "data"
        else _cast(f"led_{c.name}", c)
        for c in led_columns
    )
    return (
        f"WITH ev AS (INSERT INTO {webhook_events.name} ({ev_names}) VALUES ({ev_values}) "
        f"ON CONFLICT (processor, event_id) DO NOTHING RETURNING id), "
        f"job AS (INSERT INTO {jobs.name} ({', '.join(c.name for c in job_columns)}) "
        f"SELECT {job_select} FROM ev WHERE CAST(%(with_job)s AS BOOLEAN) RETURNING id), "
        f"led AS (INSERT INTO {ledger_events.name} ({', '.join(c.name for c in led_columns)}) "
        f"SELECT {led_select} FROM ev ON CONFLICT (idempotency_key) DO NOTHING RETURNING id) "
        f"SELECT id FROM ev"
    )


__all__ = ["JOB_COMPUTED", "event_insert", "ingest_sql", "insert_columns", "job_insert"]
