"""Shared fixtures: one database per dialect for the session, a clean copy for each test.

Integration tests take the ``database`` fixture (or ``db_url``), which runs each test once on SQLite and once
on PostgreSQL. SQLite is a copy of a migrated file made once per session; PostgreSQL is a database of this
session's own on the server of ``REMIT_TEST_DATABASE_URL``, migrated once and emptied before each test in one
statement (:mod:`tests.support.postgres`), so parallel runs do not collide (``scripts/test`` runs pytest-xdist
workers: each is a session with databases of its own). Under ``CI=true`` a PostgreSQL that cannot be reached
fails the run instead of skipping.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from remit.config import Settings
from remit.db import migrate
from remit.db.engine import Database, create_sync_engine
from remit.parts import build_runtime
from remit.runtime import Runtime
from remit.telemetry import ops
from tests.support import logs, postgres

DIALECTS = ["sqlite", "postgresql"]


@pytest.fixture(autouse=True)
def no_leftover_ops_sinks() -> Iterator[None]:
    """Fail a test that leaves an ops-event sink behind (a runtime built and never closed): the sinks are the
    process's, so a leftover runtime's recorder would write every later test's events to its database too —
    twice into a PostgreSQL database the worker's tests share."""
    before = ops.sinks()
    yield
    leftover = [sink for sink in ops.sinks() if sink not in before]
    if leftover:
        pytest.fail(f"ops-event sinks left behind (a runtime not closed?): {leftover!r}")


@pytest.fixture(autouse=True)
def uvicorn_logging_left_alone() -> Iterator[None]:
    """Fail a test that leaves uvicorn's loggers configured otherwise (a server built with uvicorn's logging
    defaults, ``access_log=False``, a ``log_level``): they are the process's, so every later test in the worker
    inherits the change — a stand-in's WARNING level on ``uvicorn.access`` emptied a later test's access log.
    They are put back, so the next test does not fail for this one."""
    before = logs.uvicorn_logging()
    yield
    after = logs.uvicorn_logging()
    if after != before:
        logs.restore_uvicorn_logging(before)
        changed = [state for state, was in zip(after, before, strict=True) if state != was]
        pytest.fail(f"uvicorn's loggers left configured (name, level, propagate, disabled, handlers): {changed!r}")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    engine = create_sync_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()  # closing the last connection checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def pg_session() -> Iterator[postgres.SessionDatabase]:
    """This test session's own PostgreSQL database, migrated once, dropped at the end."""
    with postgres.new_database("remit_test") as url:
        yield postgres.SessionDatabase(url)


@pytest.fixture
def pg_url(pg_session: postgres.SessionDatabase) -> str:
    """The session's PostgreSQL database, emptied for this test."""
    pg_session.reset()
    return pg_session.url


@pytest.fixture(params=DIALECTS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A clean, migrated database URL: once SQLite, once PostgreSQL."""
    if request.param == "sqlite":
        target = tmp_path / "remit.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_url")
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
