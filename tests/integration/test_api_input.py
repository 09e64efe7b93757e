"""Input a client can send to the internal API is answered with a JSON 4xx, on SQLite and PostgreSQL.

A NUL character fits SQLite's text but not PostgreSQL's: a NUL in an id, a filter or a cursor once reached
the database, which answered a plain-text 500 and logged a traceback quoting the statement and its parameters.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from remit.api.app import create_app
from remit.billing import apply_event
from remit.config import Settings
from remit.parts import build_runtime
from remit.runtime import Runtime

TOKEN = "tok_live_console_0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NUL = "\x00"

LISTS = {
    "/customers": [],
    "/subscriptions": ["customer", "status"],
    "/invoices": ["customer", "subscription", "status"],
    "/charges": ["customer", "payment_intent", "status"],
    "/webhook-events": ["status", "type"],
}
OBJECTS = ["/customers", "/subscriptions", "/invoices", "/charges"]


@pytest.fixture
async def api_runtime(db_url: str) -> AsyncIterator[Runtime]:
    settings = Settings.model_validate({"DATABASE_URL": db_url, "REMIT_ENV": "test", "REMIT_SERVICE_TOKENS": TOKEN})
    runtime = build_runtime(settings)
    event = {
        "id": "evt_1",
        "object": "event",
        "type": "customer.created",
        "created": 1_772_366_400,
        "data": {"object": {"id": "cus_1", "object": "customer", "created": 1_772_366_400}},
    }
    async with runtime.db.begin() as conn:
        await apply_event(conn, runtime, event)
    yield runtime
    await runtime.close()


@pytest.fixture
async def client(api_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(api_runtime), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://remit/api/v1/billing", headers=AUTH) as http:
        yield http


def assert_json_400(response: httpx.Response, param: str, code: str = "parameter_invalid_string") -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", code, param)
    assert NUL not in error["message"]


async def test_a_nul_in_an_id_is_a_json_400(client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        for path in OBJECTS:
            assert_json_400(await client.get(f"{path}/cus_1%00x"), "id")
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_a_nul_in_a_cursor_or_a_filter_is_a_json_400(client: httpx.AsyncClient) -> None:
    for path, filters in LISTS.items():
        assert_json_400(await client.get(path, params={"starting_after": f"cus_1{NUL}"}), "starting_after")
        for name in filters:
            assert_json_400(await client.get(path, params={name: f"x{NUL}y"}), name)


async def test_a_nul_in_any_other_parameter_is_a_json_400(client: httpx.AsyncClient) -> None:
    assert_json_400(await client.get("/customers", params={"expand": NUL}), "expand")
    assert_json_400(await client.get("/customers", params={f"e{NUL}": "1"}), "query")


async def test_the_same_ids_without_nul_still_answer(client: httpx.AsyncClient) -> None:
    assert (await client.get("/customers/cus_1")).json()["id"] == "cus_1"
    assert (await client.get("/customers", params={"starting_after": "cus_1"})).json()["data"] == []
    missing = await client.get("/customers/" + "c" * 300)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "resource_missing")


@pytest.mark.parametrize("limit", ["٣", "+1", " 1", "1 ", "1_0", "1.0", "0x10", "", "-1", "0", "101", "1" * 40])
async def test_limit_takes_plain_ascii_digits_only(client: httpx.AsyncClient, limit: str) -> None:
    for path in LISTS:
        assert_json_400(await client.get(path, params={"limit": limit}), "limit", "parameter_invalid_integer")


async def test_limit_in_plain_digits_is_accepted(client: httpx.AsyncClient) -> None:
    for limit in ("1", "007", "100"):
        response = await client.get("/customers", params={"limit": limit})
        assert response.status_code == 200, limit


async def test_unknown_routes_answer_the_api_error_shape(client: httpx.AsyncClient) -> None:
    for path in ("/nothing-here", "/customers/cus_1/extra", "/../../etc"):
        response = await client.get(path)
        assert response.status_code == 404
        assert response.json() == {
            "error": {
                "type": "invalid_request_error",
                "code": "route_not_found",
                "message": "no route matches this path",
            }
        }
    refused = await client.delete("/customers/cus_1")
    assert refused.status_code == 405
    assert refused.json()["error"]["code"] == "method_not_allowed"
    assert "GET" in refused.headers["allow"]


async def test_webhook_refusals_and_api_errors_share_one_shape(api_runtime: Runtime) -> None:
    transport = httpx.ASGITransport(app=create_app(api_runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://remit") as http:
        refused = await http.post("/webhooks/stripe", content=b"{}")
        unknown = await http.get("/webhooks/nothing")
        unauthorized = await http.get("/api/v1/billing/customers")
    for response, status in ((refused, 400), (unknown, 404), (unauthorized, 401)):
        assert response.status_code == status
        error = response.json()["error"]
        assert {"type", "code", "message"} <= set(error), error
    assert refused.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("raw", ["+{id}", "%20{id}", "{id}%20", "{id}_0", "٣", "{id}.0", "-{id}", "{id}%00", "1" * 20])
async def test_a_job_id_takes_plain_ascii_digits_only(api_runtime: Runtime, raw: str) -> None:
    async with api_runtime.db.begin() as conn:
        job_id = await api_runtime.engine.enqueue(conn, "remit.usage.recompute", {})
    transport = httpx.ASGITransport(app=create_app(api_runtime), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://remit/api/v1/jobs", headers=AUTH) as http:
        assert (await http.get(f"/{job_id}")).json()["id"] == job_id
        assert (await http.get(f"/00{job_id}")).json()["id"] == job_id
        for suffix in ("", "/progress"):
            assert_json_400(await http.get(f"/{raw.format(id=job_id)}{suffix}"), "id", "parameter_invalid_integer")
