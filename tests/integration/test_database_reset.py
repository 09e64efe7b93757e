"""The harness's PostgreSQL reset leaves what a freshly migrated database has, and the ledger's guard on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from remit.db.engine import create_sync_engine
from remit.db.tables import metadata
from tests.support.postgres import SessionDatabase

JOB = (
    "INSERT INTO remit_jobs (queue, name, args, state, priority, attempt, max_attempts, scheduled_at,"
    " inserted_at, errors, meta) VALUES ('q', 'n', '{}', 'available', 0, 0, 1, now(), now(), '[]', '{}')"
    " RETURNING id"
)
LEDGER = (
    "INSERT INTO remit_ledger_events (type, schema_version, subject, actor, data, idempotency_key, recorded_at)"
    " VALUES ('t', 1, 's', 'a', '{}', :key, now()) RETURNING id"
)


@pytest.fixture
def engine(pg_url: str) -> Iterator[Engine]:
    engine = create_sync_engine(pg_url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def _run(engine: Engine, statement: str, **params: str) -> int:
    with engine.begin() as conn:
        return int(conn.execute(sa.text(statement), params).scalar_one())


def _rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        counts = {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in metadata.sorted_tables
        }
    return {name: count for name, count in counts.items() if count}


def test_reset_empties_every_table_and_restarts_every_sequence(pg_session: SessionDatabase, engine: Engine) -> None:
    assert _rows(engine) == {}
    for _ in range(3):
        _run(engine, JOB)
    _run(engine, LEDGER, key="a")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE test_reset_scratch (n integer)")
        conn.exec_driver_sql("INSERT INTO test_reset_scratch VALUES (1)")
    with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:  # a sequence used by a rolled-back insert
        conn.execute(sa.text(LEDGER), {"key": "b"})
        conn.exec_driver_sql("SELECT 1 / 0")
    assert _rows(engine) == {"remit_jobs": 3, "remit_ledger_events": 1}

    pg_session.reset()

    assert _rows(engine) == {}
    assert _run(engine, "SELECT count(*) FROM test_reset_scratch") == 0
    assert _run(engine, JOB) == 1
    assert _run(engine, LEDGER, key="c") == 1
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE test_reset_scratch")


@pytest.mark.parametrize("statement", ["DELETE FROM remit_ledger_events", "TRUNCATE remit_ledger_events"])
def test_the_ledger_still_refuses_delete_and_truncate_after_a_reset(
    pg_session: SessionDatabase, engine: Engine, statement: str
) -> None:
    _run(engine, LEDGER, key="a")
    pg_session.reset()
    _run(engine, LEDGER, key="b")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql(statement)
    assert _rows(engine) == {"remit_ledger_events": 1}
