"""The test suite's PostgreSQL: databases of the session's own, and emptying one between tests in one statement.

The server is ``REMIT_TEST_DATABASE_URL`` (default: the local server's ``test`` database); every database made
here sits beside it and is dropped afterwards, so parallel sessions never share one. Under ``CI=true`` a
server that cannot be reached fails the test instead of skipping it.

Emptying is the hot path (it runs before every PostgreSQL test), so it is one call to :data:`RESET_FUNCTION`,
created once in a schema of the harness's own (``remit_test``, beside remit's tables). The function deletes the
rows of only the tables that have any, and restarts only the sequences that were used: ``TRUNCATE`` makes new
files for every table it names, which cost about 200 ms per test on this machine where the call takes about
20 ms with its connection. That connection is closed again at once: a test that counts or terminates the other
connections to its database (as a failover would) must find only remit's own. The ledger refuses ``DELETE``
(and ``TRUNCATE``) with a trigger; the harness owns the tables, so the function switches that trigger off
around its own ``DELETE`` inside the same transaction: every other connection, and every test, sees it on. The
session's database also commits without waiting for the disk (``synchronous_commit = off``): a test cannot
tell, and the suite does not pay an fsync per commit.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from remit.db import migrate
from remit.db.engine import create_sync_engine

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"

#: The ledger and its row trigger refusing UPDATE and DELETE (migration 0003).
LEDGER, LEDGER_TRIGGER = "remit_ledger_events", "remit_ledger_events_append_only"

#: The harness's schema in the session's database; remit's tables stay alone in the default one.
HARNESS_SCHEMA = "remit_test"

RESET_FUNCTION = f"""
CREATE FUNCTION {HARNESS_SCHEMA}.reset() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  name text;
  has_rows boolean;
BEGIN
  -- A test that leaked a transaction holding a lock fails the next reset instead of hanging the run.
  PERFORM set_config('lock_timeout', '20s', true);
  FOR name IN
    SELECT relname FROM pg_class
     WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r' AND relname <> '{migrate.VERSION_TABLE}'
  LOOP
    EXECUTE format('SELECT EXISTS (SELECT FROM %I)', name) INTO has_rows;
    CONTINUE WHEN NOT has_rows;
    IF name = '{LEDGER}' THEN
      ALTER TABLE {LEDGER} DISABLE TRIGGER {LEDGER_TRIGGER};
      DELETE FROM {LEDGER};
      ALTER TABLE {LEDGER} ENABLE TRIGGER {LEDGER_TRIGGER};
    ELSE
      EXECUTE format('DELETE FROM %I', name);
    END IF;
  END LOOP;
  FOR name IN
    SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences
     WHERE schemaname = current_schema() AND last_value IS NOT NULL
  LOOP
    PERFORM setval(name::regclass, 1, false);
  END LOOP;
END $$
"""


def admin_url() -> URL:
    return make_url(os.environ.get("REMIT_TEST_DATABASE_URL", DEFAULT_URL))


def unavailable(reason: str) -> NoReturn:
    """Skip the test for a missing server, or fail it under ``CI=true``."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required under CI=true and is unavailable: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL unavailable: {reason}")


@contextmanager
def new_database(prefix: str) -> Iterator[URL]:
    """An empty database of its own beside the server's test database, dropped (with its connections) after."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_sync_engine(admin_url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # any failure to reach the server means "unavailable" (a failure under CI=true)
        admin.dispose()
        unavailable(type(exc).__name__)
    try:
        yield admin_url().set(database=name)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


class SessionDatabase:
    """A migrated database for one test session, emptied by :meth:`reset` before each test that uses it."""

    def __init__(self, url: URL) -> None:
        self.url = url.render_as_string(hide_password=False)
        #: The driver's own connection string: no pool, no dialect start-up queries, no parsing of ``%``.
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        engine = create_sync_engine(self.url)
        migrate.upgrade(engine)
        engine.dispose()
        with psycopg.connect(self._conninfo, autocommit=True) as conn:
            # Test data need not outlive a crash of the server, so no commit waits for its WAL to reach the
            # disk (about 2 ms a commit on this machine); nothing a test can observe changes.
            conn.execute(f'ALTER DATABASE "{url.database}" SET synchronous_commit = off')
            conn.execute(f"CREATE SCHEMA {HARNESS_SCHEMA}")
            conn.execute(RESET_FUNCTION)

    def reset(self) -> None:
        """Empty every table and restart every sequence, as a freshly migrated database has them."""
        with psycopg.connect(self._conninfo, autocommit=True) as conn:
            conn.execute(f"SELECT {HARNESS_SCHEMA}.reset()")
