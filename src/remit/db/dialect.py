"""The one place that picks a dialect's INSERT, for ``ON CONFLICT`` (upserts and idempotent inserts).

SQLAlchemy's generic ``insert()`` has no ``on_conflict_*``; PostgreSQL's and SQLite's have the same methods with
the same meaning, so callers write one statement and this chooses the construct for the connection.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def insert(conn: sa.Connection | Any, table: sa.Table) -> Any:
    """``INSERT INTO table`` for ``conn``'s dialect, with ``on_conflict_do_nothing``/``_do_update``."""
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"remit supports PostgreSQL and SQLite, not {name}")
