"""``GET /health``: each check's level, the overall status and code, and the cache, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from remit import __version__
from remit.api.app import create_app
from remit.config import Settings
from remit.control.stop import start_all, stop_all
from remit.control.switches import switch
from remit.db import migrate
from remit.db.engine import create_sync_engine
from remit.parts import build_runtime
from remit.runtime import Runtime
from tests.support import postgres

CHECK_NAMES = {"database", "migrations", "workers", "queues", "billing", "emergency_stop", "processor_credentials"}


def _settings(db_url: str, **extra: str) -> Settings:
    return Settings.model_validate({"DATABASE_URL": db_url, "REMIT_ENV": "test", **extra})


@pytest.fixture
async def rt(db_url: str) -> AsyncIterator[Runtime]:
    """A runtime whose health report is never cached (each request computes it)."""
    runtime = build_runtime(_settings(db_url, REMIT_HEALTH_CACHE_SECONDS="0", REMIT_FLAGS_REFRESH_SECONDS="0"))
    yield runtime
    await runtime.close()


def _client(runtime: Runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime)), base_url="http://remit")


async def _health(runtime: Runtime) -> httpx.Response:
    async with _client(runtime) as client:
        return await client.get("/health")


async def _a_worker_is_alive(runtime: Runtime) -> None:
    await runtime.engine.heartbeat("worker-health-test", host="test", pid=1, queues=["remit_webhooks"])


async def test_ok_when_the_database_answers_at_head_and_a_worker_is_alive(rt: Runtime) -> None:
    await _a_worker_is_alive(rt)
    response = await _health(rt)
    assert response.status_code == 200
    body = response.json()
    assert (body["service"], body["status"], body["version"]) == ("remit", "ok", __version__)
    assert body["checks"] == {name: {"status": "ok"} for name in CHECK_NAMES}
    assert body["reasons"] == []
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None
    assert response.headers["cache-control"] == "no-store"


async def test_degraded_without_a_live_worker_but_still_200(rt: Runtime) -> None:
    response = await _health(rt)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["workers"]["status"] == "degraded"
    assert [reason.split(":")[0] for reason in body["reasons"]] == ["workers"]


async def test_a_paused_queue_billing_off_and_the_emergency_stop_each_degrade_with_their_reason(rt: Runtime) -> None:
    await _a_worker_is_alive(rt)
    await rt.engine.pause("remit_mailers", actor="operator:test")
    body = (await _health(rt)).json()
    assert body["status"] == "degraded"
    assert body["checks"]["queues"] == {"status": "degraded", "detail": "1 queue(s) paused: remit_mailers"}

    await rt.engine.resume("remit_mailers", actor="operator:test")
    await switch(rt, "billing", False, actor="operator:ada")
    body = (await _health(rt)).json()
    assert body["checks"]["billing"]["status"] == "degraded"
    assert "billing switched off since" in body["checks"]["billing"]["detail"]
    assert "operator:ada" in body["checks"]["billing"]["detail"]
    assert body["checks"]["queues"] == {"status": "ok"}

    await switch(rt, "billing", True, actor="operator:ada")
    await stop_all(rt, actor="operator:bob")
    response = await _health(rt)
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["checks"]["emergency_stop"]["status"] == "degraded"
    assert "emergency stop since" in body["checks"]["emergency_stop"]["detail"]
    assert "by operator:bob" in body["checks"]["emergency_stop"]["detail"]
    assert any(reason.startswith("emergency_stop: ") for reason in body["reasons"])
    assert body["checks"]["queues"]["status"] == "degraded"  # every queue is paused

    await start_all(rt, actor="operator:bob")
    body = (await _health(rt)).json()
    assert (body["status"], body["reasons"]) == ("ok", [])


@pytest.fixture(params=["sqlite", "postgresql"])
async def unreachable(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Runtime]:
    """A runtime whose database cannot be reached: a SQLite file in a missing directory, a closed PG port."""
    url = (
        f"sqlite:///{tmp_path / 'missing' / 'remit.db'}"
        if request.param == "sqlite"
        else "postgresql://remit@127.0.0.1:1/remit"
    )
    runtime = build_runtime(_settings(url))
    yield runtime
    await runtime.close()


async def test_down_with_503_when_the_database_does_not_answer(unreachable: Runtime) -> None:
    response = await _health(unreachable)
    assert response.status_code == 503
    body = response.json()
    assert (body["service"], body["status"]) == ("remit", "down")
    assert body["checks"]["database"]["status"] == "down"
    assert {check["status"] for check in body["checks"].values()} == {"down"}


async def test_down_with_503_when_the_schema_is_not_at_head(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()  # reachable, never migrated
    runtime = build_runtime(_settings(f"sqlite:///{path}"))
    try:
        response = await _health(runtime)
    finally:
        await runtime.close()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["migrations"]["status"] == "down"
    assert "remit migrate" in body["checks"]["migrations"]["detail"]


async def test_polls_within_the_cache_window_run_one_set_of_queries(db_url: str) -> None:
    runtime = build_runtime(_settings(db_url, REMIT_HEALTH_CACHE_SECONDS="60"))
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    sync_engines = [runtime.db.engine.sync_engine, runtime.db.reader_engine.sync_engine]
    for engine in sync_engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        async with _client(runtime) as client:
            first = await client.get("/health")
            one_set = len(statements)
            polls = [await client.get("/health") for _ in range(10)]
            polls += await asyncio.gather(*(client.get("/health") for _ in range(10)))
    finally:
        for engine in sync_engines:
            event.remove(engine, "before_cursor_execute", count)
        await runtime.close()
    assert one_set > 0
    assert len(statements) == one_set  # twenty more polls, no more queries
    assert {response.json()["status"] for response in [first, *polls]} == {first.json()["status"]}


async def test_concurrent_polls_share_one_computation(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    from remit.control import health

    computed: list[int] = []
    original = health.health_report

    async def counting(*args: object, **kwargs: object) -> health.HealthReport:
        computed.append(1)
        await asyncio.sleep(0.05)
        return await original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(health, "health_report", counting)
    cache = health.HealthCache(rt, ttl=60, version="test")
    reports = await asyncio.gather(*(cache.report() for _ in range(8)))
    assert len(computed) == 1
    assert len({id(report) for report in reports}) == 1


async def test_a_database_lost_between_the_probe_and_the_other_checks_is_down_not_degraded() -> None:
    """The probe's pooled connection still answers, but the read transaction of the other checks finds the
    database refusing connections (a restart, a failover, ``ALLOW_CONNECTIONS false``): that is ``down`` with
    503, as the probe would have said a moment later — never a ``degraded`` 200 that keeps webhooks coming to a
    process that cannot store them (the PostgreSQL fault test met it at the start of the outage)."""
    with postgres.new_database("remit_health") as url:
        db_url = url.render_as_string(hide_password=False)
        engine = create_sync_engine(db_url, poolclass=sa.pool.NullPool)
        migrate.upgrade(engine)
        engine.dispose()
        admin = create_sync_engine(postgres.admin_url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        runtime = build_runtime(_settings(db_url, REMIT_HEALTH_CACHE_SECONDS="0"))
        try:
            await _a_worker_is_alive(runtime)
            assert (await _health(runtime)).json()["status"] == "ok"  # both pools hold a connection now
            async with runtime.db.engine.connect() as conn:  # the one the probe gets next
                kept = (await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
            with admin.connect() as conn:
                conn.exec_driver_sql(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS false')
                conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{url.database}' AND pid <> {int(kept)}"
                )
            response = await _health(runtime)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS true')
            await runtime.close()
            admin.dispose()
    body = response.json()
    assert (response.status_code, body["status"]) == (503, "down"), body
    assert body["checks"]["database"]["status"] == "down"
    assert body["checks"]["database"]["detail"] == "lost during the checks (OperationalError)"
    assert {check["status"] for check in body["checks"].values()} == {"down"}
