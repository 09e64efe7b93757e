"""How remit's engines open connections: durable SQLite, bounded PostgreSQL connects."""

from __future__ import annotations

import sqlalchemy as sa

from remit.db.engine import PG_CONNECT_TIMEOUT_S, Database, create_sync_engine


async def test_sqlite_commits_survive_a_power_cut_and_postgres_connects_are_bounded(database: Database) -> None:
    async with database.connect() as conn:
        if database.is_sqlite:
            journal = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
            synchronous = (await conn.exec_driver_sql("PRAGMA synchronous")).scalar()
            assert (journal, synchronous) == ("wal", 2)  # 2 = FULL: an fsync per commit, also in WAL mode
        else:
            await conn.execute(sa.text("SELECT 1"))
    if database.is_postgres:
        sync = create_sync_engine(database.url)
        try:
            with sync.connect() as conn:
                info = conn.connection.dbapi_connection.info  # type: ignore[union-attr]
                assert info.get_parameters().get("connect_timeout") == str(PG_CONNECT_TIMEOUT_S)
        finally:
            sync.dispose()
        async with database.connect() as conn:
            raw = await conn.get_raw_connection()
            info = raw.driver_connection.info  # type: ignore[union-attr]
            assert info.get_parameters().get("connect_timeout") == str(PG_CONNECT_TIMEOUT_S)
