"""remit.db.errors: every "database went away" class is unavailable (503 with Retry-After at the webhook
endpoint and the internal API), every other database error is a bug (500); what may be said of an error."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import psycopg.errors
import psycopg_pool
import pytest
import sqlalchemy as sa
from fastapi import APIRouter

from remit.api import webhooks as webhooks_api
from remit.api.app import create_app
from remit.config import Settings
from remit.db.errors import database_error_text, is_database_error, is_unavailable_error
from remit.errors import DatabaseUnavailable
from remit.flags import switches_from_rows
from remit.parts import build_runtime
from remit.runtime import Runtime
from tests.support.webhooks import SECRET, event, post_event

PLANTED = "ada.lovelace@example.com"


def _wrapped(cls: type[sa.exc.DBAPIError], orig: BaseException, **kwargs: Any) -> sa.exc.DBAPIError:
    """A driver error as SQLAlchemy raises it: statement and parameters in its text (an email among them)."""
    return cls("INSERT INTO remit_customers (data) VALUES (?)", {"email": PLANTED}, orig, **kwargs)  # type: ignore[arg-type]


GONE: dict[str, BaseException] = {
    "psycopg.AdminShutdown": psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
    "psycopg.CrashShutdown": psycopg.errors.CrashShutdown("terminating connection because of crash"),
    "psycopg.CannotConnectNow": psycopg.errors.CannotConnectNow("the database system is starting up"),
    "psycopg.ConnectionTimeout": psycopg.errors.ConnectionTimeout("connection timeout expired"),
    "psycopg.ConnectionFailure": psycopg.errors.ConnectionFailure("server closed the connection unexpectedly"),
    "psycopg.OperationalError": psycopg.OperationalError("consuming input failed: server closed the connection"),
    "psycopg.InterfaceError": psycopg.InterfaceError("the connection is closed"),
    "psycopg.QueryCanceled": psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
    "psycopg_pool.PoolTimeout": psycopg_pool.PoolTimeout("couldn't get a connection after 10.00 sec"),
    "psycopg_pool.PoolClosed": psycopg_pool.PoolClosed("the pool 'remit-webhooks' is already closed"),
    "sqlite3.unable-to-open": sqlite3.OperationalError("unable to open database file"),
    "sqlite3.disk-io": sqlite3.OperationalError("disk I/O error"),
    "sqlite3.locked": sqlite3.OperationalError("database is locked"),
    "sqlite3.readonly": sqlite3.OperationalError("attempt to write a readonly database"),
    "sa.OperationalError(AdminShutdown)": _wrapped(sa.exc.OperationalError, psycopg.errors.AdminShutdown("x")),
    "sa.OperationalError(sqlite3)": _wrapped(sa.exc.OperationalError, sqlite3.OperationalError("disk I/O error")),
    "sa.InterfaceError": _wrapped(sa.exc.InterfaceError, psycopg.InterfaceError("connection already closed")),
    "sa.DBAPIError(connection_invalidated)": _wrapped(
        sa.exc.DBAPIError, Exception("server closed the connection"), connection_invalidated=True
    ),
    "sa.TimeoutError(pool)": sa.exc.TimeoutError("QueuePool limit of size 10 overflow 10 reached"),
    "ConnectionRefusedError": ConnectionRefusedError(111, "Connection refused"),
    "TimeoutError": TimeoutError(),
    "DatabaseUnavailable": DatabaseUnavailable("database unreachable (OperationalError)"),
}

NOT_GONE: dict[str, BaseException] = {
    "psycopg.UniqueViolation": psycopg.errors.UniqueViolation("duplicate key value"),
    "psycopg.DataError(NUL)": psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes"),
    "psycopg.StringDataRightTruncation": psycopg.errors.StringDataRightTruncation("value too long"),
    "sqlite3.IntegrityError": sqlite3.IntegrityError("UNIQUE constraint failed"),
    "sqlite3.corrupt": sqlite3.DatabaseError("database disk image is malformed"),
    "sa.IntegrityError": _wrapped(sa.exc.IntegrityError, psycopg.errors.UniqueViolation("duplicate key")),
    "sa.DataError": _wrapped(sa.exc.DataError, psycopg.errors.StringDataRightTruncation("value too long")),
    "sa.StatementError(RecursionError)": sa.exc.StatementError(
        "(builtins.RecursionError) maximum recursion depth exceeded", "INSERT …", {"email": PLANTED}, RecursionError()
    ),
    "ValueError": ValueError("a bug"),
}


@pytest.mark.parametrize("exc", GONE.values(), ids=GONE.keys())
def test_every_database_gone_class_is_unavailable(exc: BaseException) -> None:
    assert is_unavailable_error(exc)


@pytest.mark.parametrize("exc", NOT_GONE.values(), ids=NOT_GONE.keys())
def test_statement_and_data_errors_are_not_unavailable(exc: BaseException) -> None:
    assert not is_unavailable_error(exc)


@pytest.mark.parametrize(
    ("exc", "text"),
    [
        (psycopg.errors.UniqueViolation("duplicate key value violates … (email)=(ada@example.com)"), "UniqueViolation"),
        (NOT_GONE["sa.IntegrityError"], "IntegrityError: UniqueViolation"),
        (NOT_GONE["sa.StatementError(RecursionError)"], "StatementError: RecursionError"),
        (NOT_GONE["sqlite3.IntegrityError"], "IntegrityError"),
    ],
)
def test_database_error_text_names_classes_and_codes_only(exc: BaseException, text: str) -> None:
    said = database_error_text(exc)
    assert said.startswith(text)
    assert PLANTED not in said
    assert "INSERT" not in said
    assert "ada@" not in said


def test_database_error_text_carries_the_sqlstate_or_the_sqlite_code(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "x.db") as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(sqlite3.IntegrityError) as caught:
            conn.execute("INSERT INTO t VALUES (1)")
    assert database_error_text(caught.value) == "IntegrityError (SQLITE_CONSTRAINT_PRIMARYKEY)"
    assert database_error_text(_wrapped(sa.exc.IntegrityError, caught.value)) == (
        "IntegrityError: IntegrityError (SQLITE_CONSTRAINT_PRIMARYKEY)"
    )
    unique = psycopg.errors.UniqueViolation("duplicate")
    assert unique.sqlstate == "23505"
    assert database_error_text(_wrapped(sa.exc.IntegrityError, unique)) == (
        "IntegrityError: UniqueViolation (SQLSTATE 23505)"
    )


def test_is_database_error() -> None:
    assert all(is_database_error(exc) for name, exc in NOT_GONE.items() if name != "ValueError")
    assert not is_database_error(ValueError("x"))
    assert not is_database_error(RecursionError())


# --- the same classes over HTTP -----------------------------------------------------------------------------


class _FailingWriter:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    async def store(self, runtime: Runtime, row: dict[str, Any]) -> int | None:
        raise self.exc

    async def close(self) -> None:
        return None


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    """A runtime whose database is never opened: the failures below happen before it would be."""
    settings = Settings.model_validate(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}",
            "REMIT_ENV": "test",
            "STRIPE_WEBHOOK_SECRET": SECRET,
            "REMIT_SERVICE_TOKENS": "tok_test_0123456789abcdef0123456789",
        }
    )
    rt = build_runtime(settings)
    rt.flags.remember(switches_from_rows({}, settings))  # the flags as the environment gives them: no database
    yield rt
    await rt.close()


async def _post(runtime: Runtime, exc: BaseException, monkeypatch: pytest.MonkeyPatch) -> httpx.Response:
    monkeypatch.setattr(webhooks_api, "writer_for", lambda rt: _FailingWriter(exc))
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://remit") as client:
        return await post_event(client, runtime, event())


@pytest.mark.parametrize("exc", GONE.values(), ids=GONE.keys())
async def test_the_webhook_endpoint_answers_503_with_retry_after(
    runtime: Runtime, exc: BaseException, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = await _post(runtime, exc, monkeypatch)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"
    assert int(response.headers["retry-after"]) > 0


@pytest.mark.parametrize("exc", NOT_GONE.values(), ids=NOT_GONE.keys())
async def test_the_webhook_endpoint_answers_500_for_a_bug(
    runtime: Runtime, exc: BaseException, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = await _post(runtime, exc, monkeypatch)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"


def _failing_app(runtime: Runtime, exc: BaseException) -> Any:
    app = create_app(runtime)
    router = APIRouter()

    @router.get("/api/v1/failing")
    async def failing() -> None:
        raise exc

    app.include_router(router)
    return app


@pytest.mark.parametrize("exc", GONE.values(), ids=GONE.keys())
async def test_any_route_answers_a_json_503_when_the_database_went_away(runtime: Runtime, exc: BaseException) -> None:
    transport = httpx.ASGITransport(app=_failing_app(runtime, exc))
    async with httpx.AsyncClient(transport=transport, base_url="http://remit") as client:
        response = await client.get("/api/v1/failing")
    assert response.status_code == 503
    assert response.json()["error"] == {
        "type": "api_error",
        "code": "database_unavailable",
        "message": "the database is unavailable; retry later",
    }
    assert int(response.headers["retry-after"]) > 0


async def test_any_route_answers_a_json_500_and_logs_no_statement_or_parameter(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    exc = NOT_GONE["sa.IntegrityError"]
    transport = httpx.ASGITransport(app=_failing_app(runtime, exc))
    with caplog.at_level(logging.DEBUG):
        async with httpx.AsyncClient(transport=transport, base_url="http://remit") as client:
            response = await client.get("/api/v1/failing")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    [logged] = [record for record in caplog.records if record.getMessage() == "request failed: unexpected error"]
    assert logged.__dict__["error_type"] == "IntegrityError"
    assert logged.__dict__["route"] == "/api/v1/failing"
    for record in caplog.records:
        assert record.exc_info is None
        assert PLANTED not in str(record.__dict__)
        assert "INSERT" not in str(record.__dict__)
