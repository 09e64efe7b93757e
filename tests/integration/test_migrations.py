"""Upgrading an EMPTY database yields exactly the declared schema; downgrading to base removes it.

Runs on an empty SQLite file and on an empty PostgreSQL database created for this module (not the shared,
already-migrated test database), so the revisions are exercised from nothing. The schema is compared with
Alembic's own ``compare_metadata``: any table, column, type, nullability, index or constraint that the hand-
written revisions and the SQLAlchemy tables disagree on is a failure, listed in the assertion message.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from remit.db import migrate
from remit.db.engine import create_sync_engine
from remit.db.tables import metadata
from tests.support import postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A sync engine on an empty database: a new SQLite file, or a new PostgreSQL database (dropped after)."""
    if request.param == "sqlite":
        engine = create_sync_engine(f"sqlite:///{tmp_path / 'empty.db'}", poolclass=sa.pool.NullPool)
        yield engine
        engine.dispose()
        return
    with postgres.new_database("remit_migr") as url:
        engine = create_sync_engine(url, poolclass=sa.pool.NullPool)
        try:
            yield engine
        finally:
            engine.dispose()


def _include(obj: Any, name: str | None, type_: str, reflected: bool, _compare_to: Any) -> bool:
    """Compare remit's objects only; the version table is Alembic's bookkeeping, not declared schema."""
    return not (type_ == "table" and name == migrate.VERSION_TABLE)


def schema_diff(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": False,
                "include_object": _include,
                "version_table": migrate.VERSION_TABLE,
            },
        )
        return list(compare_metadata(context, metadata))


def remit_objects(engine: Engine) -> list[str]:
    """Every remit-owned object left in the database (tables, indexes, triggers, functions, types, ...)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = (
                conn.exec_driver_sql("SELECT type || ':' || name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
                .scalars()
                .all()
            )
        else:
            rows = (
                conn.exec_driver_sql(
                    """
                SELECT 'relation:' || c.relname FROM pg_class c
                  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
                UNION ALL
                SELECT 'function:' || p.proname FROM pg_proc p
                  JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
                UNION ALL
                SELECT 'type:' || t.typname FROM pg_type t
                  JOIN pg_namespace n ON n.oid = t.typnamespace
                 WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c')
                   AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid)
                """
                )
                .scalars()
                .all()
            )
    version_objects = {migrate.VERSION_TABLE, f"{migrate.VERSION_TABLE}_pkc", f"pk_{migrate.VERSION_TABLE}"}
    return sorted(row for row in rows if row.split(":", 1)[1] not in version_objects)


def test_the_revision_chain_has_one_head() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(script.get_heads()) == 1
    assert migrate.head_revision() == script.get_current_head()


def test_upgrading_an_empty_database_yields_exactly_the_declared_schema(empty_engine: Engine) -> None:
    assert remit_objects(empty_engine) == []
    assert migrate.current_revision(empty_engine) is None

    migrate.upgrade(empty_engine)

    assert migrate.is_up_to_date(empty_engine)
    diff = schema_diff(empty_engine)
    assert diff == [], "migrations and declared tables disagree:\n" + "\n".join(map(str, diff))
    declared = {table.name for table in metadata.sorted_tables}
    assert declared <= set(sa.inspect(empty_engine).get_table_names())
    migrate.upgrade(empty_engine)  # at head, upgrading again changes nothing
    assert migrate.is_up_to_date(empty_engine)


def test_downgrade_to_base_removes_everything_and_upgrades_again(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    migrate.downgrade(empty_engine, "base")

    assert migrate.current_revision(empty_engine) is None
    assert remit_objects(empty_engine) == []
    leftover = [name for name in sa.inspect(empty_engine).get_table_names() if name != migrate.VERSION_TABLE]
    assert leftover == []

    migrate.upgrade(empty_engine)
    assert schema_diff(empty_engine) == []


def test_each_revision_downgrades_to_its_predecessor(empty_engine: Engine) -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config())
    revisions = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    for revision in revisions:
        migrate.upgrade(empty_engine, revision)
        assert migrate.current_revision(empty_engine) == revision
    for revision in reversed(revisions):
        assert migrate.current_revision(empty_engine) == revision
        migrate.downgrade(empty_engine, "-1")
    assert migrate.current_revision(empty_engine) is None
    assert remit_objects(empty_engine) == []


def test_cron_ticks_already_fired_survive_the_move_to_periodic_tasks(empty_engine: Engine) -> None:
    """0006 replaces remit_cron_entries by remit_periodic_tasks: an entry's last fired tick comes along, so an
    upgrade never fires a tick twice, and a downgrade takes it back."""
    migrate.upgrade(empty_engine, "0005_ledger_no_truncate")
    with empty_engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO remit_cron_entries (name, expression, last_tick) "
            "VALUES ('host.nightly', '0 3 * * *', '2026-03-04 03:00:00'), ('host.never', '* * * * *', NULL)"
        )
    migrate.upgrade(empty_engine, "0006_periodic_tasks")
    with empty_engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT name, kind, schedule, leader_only, last_tick IS NOT NULL, last_outcome "
            "FROM remit_periodic_tasks ORDER BY name"
        ).all()
    assert [tuple(row) for row in rows] == [
        ("host.never", "cron", "cron * * * * *", True, False, None),
        ("host.nightly", "cron", "cron 0 3 * * *", True, True, "enqueued"),
    ]
    migrate.downgrade(empty_engine, "0005_ledger_no_truncate")
    with empty_engine.connect() as conn:
        back = conn.exec_driver_sql("SELECT name, expression FROM remit_cron_entries ORDER BY name").all()
    assert [tuple(row) for row in back] == [("host.never", "* * * * *"), ("host.nightly", "0 3 * * *")]
