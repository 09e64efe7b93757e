"""Shared fixtures: one database per dialect for the session, a clean copy for each test.

Integration tests take the ``database`` fixture (or ``db_url``), which runs each test once on SQLite and once
on PostgreSQL. PostgreSQL is ``REMIT_TEST_DATABASE_URL`` (default: the local server's ``test`` database);
each test session creates a database of its own beside it, so parallel runs do not collide. Under
``CI=true`` a PostgreSQL that cannot be reached fails the run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from remit.config import Settings
from remit.db import migrate
from remit.db.engine import Database, create_sync_engine
from remit.db.tables import metadata
from remit.parts import build_runtime
from remit.runtime import Runtime

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
DIALECTS = ["sqlite", "postgresql"]


def pg_admin_url() -> str:
    return os.environ.get("REMIT_TEST_DATABASE_URL", DEFAULT_PG_URL)


def _pg_unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required under CI=true and is unavailable: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL unavailable: {reason}")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    engine = create_sync_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()  # closing the last connection checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def pg_session_url() -> Iterator[str]:
    """A database of this test session's own on the PostgreSQL server, migrated, dropped at the end."""
    admin_url = make_url(pg_admin_url())
    name = f"remit_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_sync_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        _pg_unavailable(type(exc).__name__)
        raise
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = create_sync_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


#: The ledger's trigger refusing TRUNCATE (migration 0005); the harness lifts it for its own reset only.
LEDGER_NO_TRUNCATE = ("remit_ledger_events", "remit_ledger_events_no_truncate")


def _truncate_pg(url: str) -> None:
    """Empty every table. The ledger refuses TRUNCATE; the harness owns the tables, so it switches that
    trigger off for this one statement, inside the same transaction (a failure leaves it switched on)."""
    engine = create_sync_engine(url, poolclass=sa.pool.NullPool)
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    table, trigger = LEDGER_NO_TRUNCATE
    with engine.begin() as conn:
        guarded = (
            conn.exec_driver_sql("SELECT 1 FROM pg_trigger WHERE tgname = %(name)s", {"name": trigger}).first()
            is not None
        )
        if guarded:
            conn.exec_driver_sql(f'ALTER TABLE "{table}" DISABLE TRIGGER "{trigger}"')
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        if guarded:
            conn.exec_driver_sql(f'ALTER TABLE "{table}" ENABLE TRIGGER "{trigger}"')
    engine.dispose()


@pytest.fixture(params=DIALECTS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A clean, migrated database URL: once SQLite, once PostgreSQL."""
    if request.param == "sqlite":
        target = tmp_path / "remit.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_session_url")
    _truncate_pg(url)
    return url


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings.model_validate({"DATABASE_URL": db_url, "REMIT_ENV": "test"})


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    db = Database.from_url(db_url)
    yield db
    await db.dispose()


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = build_runtime(settings)
    yield rt
    await rt.close()
