"""The internal API's guards over the real app, on SQLite and PostgreSQL: service tokens on every /api/v1
route, the per-token rate limit shared through the database, the cron secret, and the origin guard."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa

from remit.api.app import create_app
from remit.api.origin import guard_on
from remit.clock import FrozenClock
from remit.config import Settings
from remit.db.engine import Database
from remit.db.tables import jobs, rate_limits
from remit.flags import ORIGIN_GUARD, FlagCache, set_flag, switches_from_rows
from remit.parts import build_runtime
from remit.runtime import Runtime

pytestmark = pytest.mark.timeout(120)

TOKENS = ("tok_console_0123456789abcdef0123", "tok_rotated_fedcba9876543210fedc")
CRON = "cron_secret_6d1f0a9c2b7e4853a1f0"
START = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)

Factory = Callable[..., AbstractAsyncContextManager[tuple[Runtime, httpx.AsyncClient]]]


@pytest.fixture
def api(db_url: str) -> Factory:
    """An app over the test database with ``settings`` on top of tokens and the cron secret, a frozen clock,
    and a client whose peer address is ``client`` (a public one unless given)."""

    @asynccontextmanager
    async def open_api(
        client: tuple[str, int] = ("203.0.113.9", 50000), **settings: str
    ) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
        values = {
            "DATABASE_URL": db_url,
            "REMIT_ENV": "test",
            "REMIT_SERVICE_TOKENS": ",".join(TOKENS),
            "CRON_SECRET": CRON,
            "REMIT_FLAGS_REFRESH_SECONDS": "0",
            **settings,
        }
        runtime = build_runtime(Settings.model_validate(values), clock=FrozenClock(START))
        transport = httpx.ASGITransport(app=create_app(runtime), client=client)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://remit") as http:
                yield runtime, http
        finally:
            await runtime.close()

    return open_api


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def concrete(path: str) -> str:
    """A route template with every parameter filled in."""
    return path.replace("{", "x_").replace("}", "")


async def test_every_api_v1_route_wants_a_token_and_takes_either_rotated_one(api: Factory) -> None:
    async with api() as (_runtime, http):
        paths = create_app(_runtime).openapi()["paths"]  # every route, including those added later
        guarded = [(path, verb.upper()) for path, item in paths.items() if path.startswith("/api/v1/") for verb in item]
        assert len(guarded) >= 10
        for path, method in guarded:
            for headers in ({}, bearer("tok_wrong_0123456789abcdef012345"), {"Authorization": "Basic eA=="}):
                answer = await http.request(method, concrete(path), headers=headers)
                assert answer.status_code == 401, (path, headers)
                assert answer.json()["error"]["code"] == "unauthorized"
                assert answer.headers["www-authenticate"].startswith("Bearer")
        for token in TOKENS:
            answer = await http.get("/api/v1/billing/customers", headers=bearer(token))
            assert answer.status_code == 200


async def test_the_rate_limit_refuses_with_retry_after_and_lets_the_caller_back_in(api: Factory) -> None:
    async with api(REMIT_API_RATE_LIMIT="3", REMIT_API_RATE_WINDOW_SECONDS="60") as (runtime, http):
        clock = runtime.clock
        assert isinstance(clock, FrozenClock)
        for _ in range(3):
            assert (await http.get("/api/v1/billing/customers", headers=bearer(TOKENS[0]))).status_code == 200
        refused = await http.get("/api/v1/billing/customers", headers=bearer(TOKENS[0]))
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limit"
        wait = int(refused.headers["retry-after"])
        assert 1 <= wait <= 120
        # Another token has its own count; a refused request is not counted.
        assert (await http.get("/api/v1/billing/customers", headers=bearer(TOKENS[1]))).status_code == 200
        clock.advance(wait - 1)
        assert (await http.get("/api/v1/billing/customers", headers=bearer(TOKENS[0]))).status_code == 429
        clock.advance(1)
        assert (await http.get("/api/v1/billing/customers", headers=bearer(TOKENS[0]))).status_code == 200
        async with runtime.db.connect() as conn:
            keys = [row[0] for row in await conn.execute(sa.select(rate_limits.c.key))]
        assert keys
        assert all(key.startswith("token:") for key in keys)
        assert not any(token[4:] in key for key in keys for token in TOKENS)  # a digest, never the token


async def test_two_processes_share_one_count(api: Factory) -> None:
    """Two apps on one database (two `remit serve` processes): together they let the limit through, once."""
    async with (
        api(REMIT_API_RATE_LIMIT="4") as (_first, one),
        api(REMIT_API_RATE_LIMIT="4") as (_second, two),
    ):
        answers = []
        for http in (one, two, one, two, one, two):
            answers.append((await http.get("/api/v1/billing/customers", headers=bearer(TOKENS[0]))).status_code)
    assert answers == [200, 200, 200, 200, 429, 429]


async def test_a_zero_limit_switches_the_limit_off(api: Factory) -> None:
    async with api(REMIT_API_RATE_LIMIT="0") as (runtime, http):
        for _ in range(5):
            assert (await http.get("/api/v1/billing/customers", headers=bearer(TOKENS[0]))).status_code == 200
        async with runtime.db.connect() as conn:
            assert (await conn.execute(sa.select(sa.func.count()).select_from(rate_limits))).scalar_one() == 0


async def test_cron_wants_the_cron_secret_and_enqueues_a_tick_once(api: Factory) -> None:
    async with api() as (runtime, http):
        name = "webhooks.prune"
        assert (await http.post(f"/api/cron/{name}")).status_code == 401
        assert (await http.post(f"/api/cron/{name}", headers=bearer(TOKENS[0]))).status_code == 401  # not a cron secret
        first = await http.post(f"/api/cron/{name}", headers=bearer(CRON))
        assert first.status_code == 202, first.text
        body = first.json()
        assert (body["enqueued"], body["name"]) == (True, name)
        assert isinstance(body["job_id"], int)
        again = await http.post(f"/api/cron/{name}", headers=bearer(CRON))
        assert again.status_code == 200
        assert again.json()["enqueued"] is False
        job = await runtime.engine.get(body["job_id"])
        assert job is not None
        assert (job.name, job.args["task"]) == ("remit.periodic", name)
        missing = await http.post("/api/cron/no.such.task", headers=bearer(CRON))
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "resource_missing"


async def test_the_cron_secret_also_comes_in_its_own_header(api: Factory) -> None:
    async with api() as (_runtime, http):
        assert (await http.post("/api/cron/webhooks.prune", headers={"X-Cron-Secret": "wrong"})).status_code == 401
        answer = await http.post("/api/cron/webhooks.prune", headers={"X-Cron-Secret": CRON})
        assert answer.status_code == 202
        # A part's own cron route takes the same guard, in the same error shape.
        refused = await http.post("/api/cron/reconcile-provisioning", headers={"X-Cron-Secret": "wrong"})
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"


async def test_without_a_cron_secret_cron_is_unavailable(api: Factory) -> None:
    async with api(CRON_SECRET="") as (runtime, http):
        answer = await http.post("/api/cron/webhooks.prune", headers=bearer(CRON))
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "cron_not_configured"
        assert "CRON_SECRET" in answer.json()["error"]["message"]
        async with runtime.db.connect() as conn:
            assert (await conn.execute(sa.select(sa.func.count()).select_from(jobs))).scalar_one() == 0


async def _switch_guard(runtime: Runtime, on: bool) -> None:
    async with runtime.db.begin() as conn:
        await set_flag(conn, runtime.settings, ORIGIN_GUARD, on, actor="test", at=runtime.clock.now())


async def test_the_origin_guard_obeys_its_flag(api: Factory) -> None:
    async with api() as (runtime, http):
        path = "/api/v1/billing/customers"
        assert (await http.get(path, headers=bearer(TOKENS[0]))).status_code == 200  # off by default
        await _switch_guard(runtime, True)
        refused = await http.get(path, headers=bearer(TOKENS[0]))
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "origin_refused"
        proxied = await http.get(path, headers={**bearer(TOKENS[0]), "CF-Connecting-IP": "198.51.100.4"})
        assert proxied.status_code == 200
        assert (await http.get("/health")).status_code in (200, 503)  # exempt
        assert (await http.post("/webhooks/stripe", content=b"{}")).status_code == 403
        await _switch_guard(runtime, False)
        assert (await http.get(path, headers=bearer(TOKENS[0]))).status_code == 200


async def test_the_origin_guard_admits_allowed_networks_and_its_own_header(api: Factory) -> None:
    async with api(client=("10.1.2.3", 4000), REMIT_ORIGIN_ALLOW="10.0.0.0/8", REMIT_FLAG_ORIGIN_GUARD="true") as (
        _runtime,
        http,
    ):
        assert (await http.get("/api/v1/billing/customers", headers=bearer(TOKENS[0]))).status_code == 200
    async with api(REMIT_ORIGIN_HEADER="X-Edge-Verified", REMIT_FLAG_ORIGIN_GUARD="true") as (_runtime, http):
        headers = {**bearer(TOKENS[0]), "CF-Connecting-IP": "198.51.100.4"}
        assert (await http.get("/api/v1/billing/customers", headers=headers)).status_code == 403
        headers = {**bearer(TOKENS[0]), "X-Edge-Verified": "1"}
        assert (await http.get("/api/v1/billing/customers", headers=headers)).status_code == 200
    async with api(REMIT_ORIGIN_EXEMPT="/health,/metrics", REMIT_FLAG_ORIGIN_GUARD="true") as (_runtime, http):
        assert (await http.get("/metrics")).status_code == 200


async def test_the_origin_guard_keeps_the_last_known_flag_and_else_enforces_when_the_database_is_gone() -> None:
    settings = Settings.model_validate(
        {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "REMIT_ENV": "test", "REMIT_DB_CONNECT_TIMEOUT": "2"}
    )
    db = Database.from_url(settings.database_url)
    try:
        cache = FlagCache(db, settings, ttl=0)
        assert await guard_on(cache) is True  # nothing known yet: enforced
        cache.remember(switches_from_rows({}, settings))  # last read: off (the environment's value)
        assert await guard_on(cache) is False
    finally:
        await db.dispose()


async def test_a_database_outage_is_a_503_on_every_guarded_group_never_a_500() -> None:
    settings = Settings.model_validate(
        {
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
            "REMIT_ENV": "test",
            "REMIT_SERVICE_TOKENS": TOKENS[0],
            "CRON_SECRET": CRON,
            "REMIT_DB_CONNECT_TIMEOUT": "2",
        }
    )
    runtime = build_runtime(settings)
    transport = httpx.ASGITransport(app=create_app(runtime), client=("127.0.0.1", 5000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://remit") as http:
            for method, path, token in (
                ("GET", "/api/v1/billing/customers", TOKENS[0]),
                ("GET", "/api/v1/jobs/1", TOKENS[0]),
                ("POST", "/api/cron/webhooks.prune", CRON),
            ):
                answer = await http.request(method, path, headers=bearer(token))
                assert answer.status_code == 503, (path, answer.text)
                assert answer.json()["error"]["code"] == "database_unavailable"
                assert answer.headers["retry-after"]
    finally:
        await runtime.close()
