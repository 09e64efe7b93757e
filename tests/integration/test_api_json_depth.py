"""Every JSON body of the internal API is refused the same way when it nests too deep or is not JSON, on
SQLite and PostgreSQL: a 400 naming ``body``, ``json_too_deep`` past 64 levels and ``invalid_json`` past the
parser's 1,024, after the token is checked, with nothing stored.

The routes are the app's own: every ``/api/`` operation of the OpenAPI document that takes a JSON body, so a
route added later is covered without a change here. ``/api/v1/usage`` parsed its body itself and answered
these codes; the billing actions' bodies went through FastAPI's parser, which answered ``parameter_invalid``
naming the first field the nesting broke, and past about 1,000 levels (where the standard parser raises
``RecursionError``) a generic ``http_400`` — before the token was even looked at.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from remit.api.app import create_app
from remit.config import Settings
from remit.db.tables import metadata
from remit.parts import build_runtime
from remit.runtime import Runtime

TOKEN = "tok_live_console_0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
#: Tables a refused request may write: the rate limit counts every authenticated request.
COUNTERS = {"remit_rate_limits"}


def json_body_operations() -> list[tuple[str, str]]:
    """``(method, path)`` of every internal-API operation taking a JSON body, from the app's OpenAPI document."""
    settings = Settings.model_validate({"DATABASE_URL": "sqlite://", "REMIT_ENV": "test"})
    document = create_app(build_runtime(settings)).openapi()
    return sorted(
        (method.upper(), path)
        for path, operations in document["paths"].items()
        if path.startswith("/api/")
        for method, operation in operations.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    )


OPERATIONS = json_body_operations()


def concrete(path: str) -> str:
    """The path with each ``{parameter}`` filled in with an id of the right shape."""
    return re.sub(r"\{(\w+)\}", lambda m: f"{m.group(1).removesuffix('_id')[:3]}_deep1", path)


def nested(depth: int) -> str:
    """A JSON object whose one field holds lists ``depth`` deep."""
    return '{"customer": "cus_1", "x": %s}' % ("[" * depth + "]" * depth)


@pytest.fixture
async def api_runtime(db_url: str) -> AsyncIterator[Runtime]:
    settings = Settings.model_validate({"DATABASE_URL": db_url, "REMIT_ENV": "test", "REMIT_SERVICE_TOKENS": TOKEN})
    runtime = build_runtime(settings)
    yield runtime
    await runtime.close()


@pytest.fixture
async def client(api_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(api_runtime), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://remit") as http:
        yield http


async def row_counts(runtime: Runtime) -> dict[str, Any]:
    async with runtime.db.connect() as conn:
        return {
            name: (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()
            for name, table in metadata.tables.items()
            if name not in COUNTERS
        }


def test_the_routes_are_found() -> None:
    """The discovery sees the known routes (an empty or partial list would make the tests below vacuous)."""
    assert ("POST", "/api/v1/usage") in OPERATIONS
    assert ("POST", "/api/v1/billing/customers") in OPERATIONS
    assert ("POST", "/api/v1/billing/subscriptions/{subscription_id}/cancel") in OPERATIONS
    assert len(OPERATIONS) >= 9


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
@pytest.mark.parametrize(("depth", "code"), [(65, "json_too_deep"), (1_000, "json_too_deep"), (2_000, "invalid_json")])
async def test_a_body_nested_too_deep_is_a_400_naming_body_and_stores_nothing(
    api_runtime: Runtime, client: httpx.AsyncClient, method: str, path: str, depth: int, code: str
) -> None:
    before = await row_counts(api_runtime)
    headers = {**AUTH, "Content-Type": "application/json", "Idempotency-Key": f"deep-{depth}"}
    answer = await client.request(method, concrete(path), content=nested(depth), headers=headers)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", code, "body")
    assert await row_counts(api_runtime) == before


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
async def test_a_body_that_is_not_json_is_a_400_naming_body(
    api_runtime: Runtime, client: httpx.AsyncClient, method: str, path: str
) -> None:
    before = await row_counts(api_runtime)
    headers = {**AUTH, "Content-Type": "application/json", "Idempotency-Key": "not-json"}
    answer = await client.request(method, concrete(path), content=b'{"customer": ', headers=headers)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["param"]) == ("invalid_json", "body")
    assert await row_counts(api_runtime) == before


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
@pytest.mark.parametrize("body", [nested(2_000), '{"customer": '])
async def test_without_a_token_an_unreadable_body_is_a_401(
    client: httpx.AsyncClient, method: str, path: str, body: str
) -> None:
    """The token first: a caller without one learns nothing about what the API would accept."""
    headers = {"Content-Type": "application/json", "Idempotency-Key": "anonymous"}
    answer = await client.request(method, concrete(path), content=body, headers=headers)
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] == "unauthorized"
