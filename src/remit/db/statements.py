"""Idempotent inserts and upserts as SQL text generated from the table definitions, built once per shape.

Why text rather than ``insert(...).on_conflict_do_update(...)``: SQLAlchemy 2.0 does not cache the compiled form
of the PostgreSQL and SQLite ``Insert`` constructs (their classes carry no cache key), so every execution of an
``ON CONFLICT`` statement compiles afresh — about a millisecond of CPU for a wide upsert, more than the database
spends on it. A ``text()`` statement with typed parameters is cached by SQLAlchemy and prepared by psycopg like
any other. The text is generated from the :class:`~sqlalchemy.Table`, so a column added to a table cannot be
forgotten, and the parameters carry the columns' types, so values are bound exactly as the ORM-less Core
insert would bind them (JSON, UTC datetimes).

Both dialects read the same text: ``INSERT … ON CONFLICT (…) DO NOTHING | DO UPDATE SET … WHERE … RETURNING``
is PostgreSQL's syntax, which SQLite (3.35+) shares. Callers cache what they build (``functools.cache`` on a
function of the statement's shape), since building is the cost being avoided.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import TextClause


def insert_columns(table: sa.Table) -> list[sa.Column[Any]]:
    """The columns an insert names: all but an autoincrementing primary key."""
    return [column for column in table.c if not (column.primary_key and column.autoincrement is not False)]


def upsert(
    table: sa.Table,
    *,
    columns: Sequence[str] | None = None,
    conflict: Sequence[str] = (),
    update: Iterable[str] | None = None,
    where: str | None = None,
    returning: Sequence[str] = (),
) -> TextClause:
    """``INSERT INTO table (columns) VALUES (:columns)``, with an ``ON CONFLICT`` clause when ``conflict``
    names the unique columns: ``DO UPDATE SET c = excluded.c`` for each of ``update`` (guarded by ``where``,
    SQL in which ``excluded`` and the table's name may appear), or ``DO NOTHING`` when ``update`` is None.

    ``columns`` defaults to :func:`insert_columns`. The statement takes one parameter per column, named after
    it; pass a list of dicts to run it for many rows.
    """
    names = list(columns) if columns is not None else [c.name for c in insert_columns(table)]
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"
    if conflict:
        sql += f" ON CONFLICT ({', '.join(conflict)})"
        if update is None:
            sql += " DO NOTHING"
        else:
            assignments = ", ".join(f"{name} = excluded.{name}" for name in update)
            if not assignments:
                raise ValueError("an upsert must update at least one column; use update=None for DO NOTHING")
            sql += f" DO UPDATE SET {assignments}"
            if where:
                sql += f" WHERE {where}"
    elif update is not None or where is not None:
        raise ValueError("update and where need the conflict columns")
    if returning:
        sql += f" RETURNING {', '.join(returning)}"
    stmt = sa.text(sql).bindparams(*(sa.bindparam(name, type_=table.c[name].type) for name in names))
    return stmt


__all__ = ["insert_columns", "upsert"]
