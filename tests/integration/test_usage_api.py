"""``POST /api/v1/usage`` and ``GET /api/v1/usage/rollups`` over the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa

from remit.api.app import create_app
from remit.config import Settings
from remit.db.tables import meter_events
from remit.parts import build_runtime
from remit.runtime import Runtime
from remit.usage import roll_up

TOKEN = "tok_usage_api_0123456789abcdefghij"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def rt(db_url: str) -> AsyncIterator[Runtime]:
    settings = Settings.model_validate({"DATABASE_URL": db_url, "REMIT_ENV": "test", "REMIT_SERVICE_TOKENS": TOKEN})
    runtime = build_runtime(settings)
    yield runtime
    await runtime.close()


@pytest.fixture
async def client(rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(rt)), base_url="http://remit") as http:
        yield http


async def stored(rt: Runtime) -> int:
    async with rt.db.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(meter_events))).scalar_one())


async def test_one_event_and_a_batch_are_recorded_and_a_repeat_is_a_duplicate(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    one = {"customer": "cus_1", "meter": "api_requests", "value": 3, "operation_id": "api-1"}
    answer = await client.post("/api/v1/usage", json=one, headers=AUTH)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == [{"operation_id": "api-1", "id": 1, "status": "pending", "duplicate": False}]
    batch = {"events": [one, {**one, "operation_id": "api-2", "value": "4"}]}
    answer = await client.post("/api/v1/usage", json=batch, headers=AUTH)
    assert [(d["operation_id"], d["duplicate"]) for d in answer.json()["data"]] == [("api-1", True), ("api-2", False)]
    assert await stored(rt) == 2
    await roll_up(rt.db, rt.clock.now())
    day = rt.clock.now().date().isoformat()
    answer = await client.get(
        "/api/v1/usage/rollups",
        params={"customer": "cus_1", "resolution": "daily", "start": day, "end": "2999-01-01"},
        headers=AUTH,
    )
    assert answer.status_code == 200, answer.text
    assert [(r["meter"], r["value"], r["events"]) for r in answer.json()["data"]] == [("api_requests", "7", 2)]


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        (
            {
                "events": [
                    {"customer": "c", "meter": "api_requests", "value": 1, "operation_id": "x"},
                    {"customer": "c"},
                ]
            },
            "events[1].meter",
            "parameter_missing",
        ),
        ({"customer": "c", "meter": "nope", "value": 1, "operation_id": "x"}, "meter", "meter_unknown"),
        ({"customer": "c", "meter": "api_requests", "value": -1, "operation_id": "x"}, "value", "parameter_invalid"),
        (
            {"customer": "c", "meter": "api_requests", "value": 1, "operation_id": "x" * 101},
            "operation_id",
            "parameter_invalid",
        ),
        (
            {"customer": "c", "meter": "api_requests", "value": 1, "operation_id": "x", "timestamp": 1},
            "timestamp",
            "timestamp_too_old",
        ),
        (
            {"customer": "c", "meter": "api_requests", "value": 1, "operation_id": "x", "colour": 1},
            "colour",
            "parameter_unknown",
        ),
        (
            {
                "events": [
                    {"customer": "c", "meter": "api_requests", "value": 1, "operation_id": str(i)} for i in range(1001)
                ]
            },
            "events",
            "too_many_events",
        ),
    ],
)
async def test_a_bad_event_is_a_400_naming_it_and_nothing_is_written(
    rt: Runtime, client: httpx.AsyncClient, body: object, param: str, code: str
) -> None:
    answer = await client.post("/api/v1/usage", json=body, headers=AUTH)
    assert answer.status_code == 400
    assert (answer.json()["error"]["param"], answer.json()["error"]["code"]) == (param, code)
    assert await stored(rt) == 0


async def test_without_a_token_nothing_is_recorded(rt: Runtime, client: httpx.AsyncClient) -> None:
    one = {"customer": "cus_1", "meter": "api_requests", "value": 3, "operation_id": "api-1"}
    assert (await client.post("/api/v1/usage", json=one)).status_code == 401
    assert await stored(rt) == 0


@pytest.mark.parametrize(
    ("depth", "code"),
    [(65, "json_too_deep"), (1_000, "json_too_deep"), (2_000, "invalid_json"), (100_000, "invalid_json")],
)
async def test_json_nested_too_deep_is_a_400_not_a_500(
    rt: Runtime, client: httpx.AsyncClient, depth: int, code: str
) -> None:
    """The standard parser raised RecursionError past about 1,000 levels (a 500); orjson refuses past 1,024 and
    the webhook endpoint's depth rule (64 levels) refuses the rest, as it does for deliveries."""
    body = '{"customer": "cus_1", "meter": "api_requests", "value": 1, "operation_id": "deep", "x": %s}' % (
        "[" * depth + "]" * depth
    )
    answer = await client.post("/api/v1/usage", content=body, headers={**AUTH, "Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert (answer.json()["error"]["param"], answer.json()["error"]["code"]) == ("body", code)
    assert await stored(rt) == 0
