"""A database that stops taking writes: failed connections are discarded and reopened, and ``/health``'s
database check says ``down`` while writes cannot succeed (tests/e2e/test_database_faults.py does it to real
processes by taking the file's permissions away)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from remit.control.health import Level, database_check
from remit.db.engine import Database, is_sqlite_file_fault
from remit.db.tables import flags


@pytest.fixture
async def single(db_url: str) -> AsyncIterator[Database]:
    """A database whose pool holds one connection, so a test knows which connection the next caller gets."""
    db = Database.from_url(db_url, pool_size=1)
    yield db
    await db.dispose()


async def write(db: Database, name: str) -> None:
    async with db.begin() as conn:
        await conn.execute(
            sa.insert(flags).values(name=name, enabled=True, updated_at=sa.func.current_timestamp(), updated_by="t")
        )


async def test_a_sqlite_connection_that_cannot_write_is_discarded_and_health_says_down_until_a_write_lands(
    single: Database,
) -> None:
    if not single.is_sqlite:
        pytest.skip("SQLite's file faults")
    await write(single, "before")
    # The one pooled connection turns read-only, as one opened while the file was not writable stays.
    async with single.engine.connect() as conn:
        await conn.exec_driver_sql("PRAGMA query_only = ON")
    with pytest.raises(sa.exc.OperationalError) as raised:
        await write(single, "during")
    assert is_sqlite_file_fault(raised.value.orig)
    result = await database_check(single)
    assert (result.status, result.detail) == (Level.DOWN, "writes failing (SQLITE_READONLY)")

    await write(single, "after")  # a fresh connection: the read-only one was discarded
    assert (await database_check(single)).status is Level.OK
    async with single.engine.connect() as conn:
        names = set((await conn.execute(sa.select(flags.c.name))).scalars())
    assert {"before", "after"} <= names
    assert "during" not in names


async def test_a_read_only_postgresql_is_down(single: Database) -> None:
    if not single.is_postgres:
        pytest.skip("PostgreSQL's read-only transactions")
    assert (await database_check(single)).status is Level.OK
    async with single.engine.connect() as conn:
        await conn.exec_driver_sql("SET SESSION default_transaction_read_only = on")
        await conn.commit()
    result = await database_check(single)
    assert (result.status, result.detail) == (Level.DOWN, "database is read-only")
    async with single.engine.connect() as conn:
        await conn.exec_driver_sql("SET SESSION default_transaction_read_only = off")
        await conn.commit()
    assert (await database_check(single)).status is Level.OK


def _error(code: int, name: str) -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError("x")
    exc.sqlite_errorcode = code  # type: ignore[attr-defined]
    exc.sqlite_errorname = name  # type: ignore[attr-defined]
    return exc


@pytest.mark.parametrize(
    ("code", "name", "fault"),
    [
        (8, "SQLITE_READONLY", True),
        (8 | (6 << 8), "SQLITE_READONLY_DIRECTORY", True),
        (10, "SQLITE_IOERR", True),
        (13, "SQLITE_FULL", True),
        (14, "SQLITE_CANTOPEN", True),
        (5, "SQLITE_BUSY", False),  # a writer holds the lock: wait, do not reconnect
        (1, "SQLITE_ERROR", False),  # a bad statement
    ],
)
def test_which_sqlite_errors_are_file_faults(code: int, name: str, fault: bool) -> None:
    assert is_sqlite_file_fault(_error(code, name)) is fault
    assert not is_sqlite_file_fault(RuntimeError("x"))
