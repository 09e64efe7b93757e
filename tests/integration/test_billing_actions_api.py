"""``POST /api/v1/billing/…`` on both databases: each action through HTTP with its Idempotency-Key, a repeat
answering the first object (``Idempotent-Replayed``), Stripe-shaped errors naming the field, the processor's
refusals and outages told apart, never a 500 for what a client can send; and the routes in the OpenAPI
document."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from remit.clock import FrozenClock
from remit.db.tables import billing_actions
from remit.processor.fake import CollectingDelivery, FakeEngine, FakeProcessor
from remit.runtime import Runtime
from remit.telemetry.logging import quiet_payload_loggers
from tests.support.webhooks import SECRET, client_for

TOKEN = "tok_billing_actions_0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BASE = "/api/v1/billing"
pytestmark = pytest.mark.webhook_settings(REMIT_SERVICE_TOKENS=TOKEN, REMIT_API_RATE_LIMIT="0")


@pytest.fixture
async def client(rt: Runtime, collected: CollectingDelivery) -> AsyncIterator[httpx.AsyncClient]:
    rt.processor = FakeProcessor(FakeEngine(rt.db, rt.clock, delivery=collected, secret=SECRET))
    async with client_for(rt) as client:
        yield client


async def post(client: httpx.AsyncClient, path: str, body: Any, key: str | None) -> httpx.Response:
    headers = dict(AUTH)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await client.post(f"{BASE}{path}", json=body, headers=headers)


async def test_the_actions_over_http_and_their_repeats(client: httpx.AsyncClient) -> None:
    async def twice(path: str, body: Any, key: str) -> dict[str, Any]:
        first = await post(client, path, body, key)
        assert first.status_code == 200, first.text
        assert "Idempotent-Replayed" not in first.headers
        again = await post(client, path, body, key)
        assert again.status_code == 200
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
        answer: dict[str, Any] = first.json()
        return answer

    customer = await twice("/customers", {"account_id": "acct_h", "payment_method": "pm_card_visa"}, "h-1")
    assert customer["object"] == "customer"
    assert (await twice(f"/customers/{customer['id']}", {"name": "Grace"}, "h-2"))["name"] == "Grace"
    checkout = await twice(
        "/checkout_sessions",
        {"account_id": "acct_h", "package": "pro", "success_url": "https://app.example/ok"},
        "h-3",
    )
    assert checkout["object"] == "checkout.session"
    assert checkout["metadata"] == {"remit_account_id": "acct_h", "remit_package": "pro"}
    assert checkout["url"].startswith("https://")
    portal = await twice("/portal_sessions", {"account_id": "acct_h", "return_url": "https://app.example"}, "h-4")
    assert portal["customer"] == customer["id"]
    sub = await twice("/subscriptions", {"customer": customer["id"], "package": "starter"}, "h-5")
    assert sub["status"] == "active"
    changed = await twice(
        f"/subscriptions/{sub['id']}", {"package": "pro", "proration_behavior": "create_prorations"}, "h-6"
    )
    assert changed["metadata"]["remit_package"] == "pro"
    ending = await twice(f"/subscriptions/{sub['id']}/cancel", {"at_period_end": True}, "h-7")
    assert ending["cancel_at_period_end"] is True
    resumed = await twice(f"/subscriptions/{sub['id']}/resume", {}, "h-8")
    assert resumed["cancel_at_period_end"] is False
    canceled = await twice(f"/subscriptions/{sub['id']}/cancel", {}, "h-9")
    assert canceled["status"] == "canceled"


@pytest.mark.parametrize(
    ("path", "body", "key", "param", "code"),
    [
        ("/checkout_sessions", {"package": "pro", "success_url": "https://a.example"}, "e-1", "account_id", None),
        (
            "/checkout_sessions",
            {"account_id": "a", "package": "gold", "success_url": "https://a"},
            "e-2",
            "package",
            "package_unknown",
        ),
        (
            "/checkout_sessions",
            {"account_id": "a", "package": "pro", "success_url": "ftp://x"},
            "e-3",
            "success_url",
            "url_invalid",
        ),
        (
            "/checkout_sessions",
            {"account_id": "a", "package": "pro", "success_url": "https://a", "mode": "setup"},
            "e-4",
            "mode",
            None,
        ),
        (
            "/checkout_sessions",
            {"account_id": "a", "package": "pro", "success_url": "https://a", "quantity": 0},
            "e-5",
            "quantity",
            None,
        ),
        (
            "/checkout_sessions",
            {"account_id": "a", "package": "pro", "success_url": "https://a", "color": "red"},
            "e-6",
            "color",
            None,
        ),
        ("/customers", {"email": "a\u0000b@example.com"}, "e-7", "email", None),
        ("/customers", {"metadata": {"k": 1}}, "e-8", "k", None),
        ("/customers", {}, None, "Idempotency-Key", None),
        ("/subscriptions", {"customer": "cus_x"}, "e-9", "package", "parameter_missing"),
        ("/subscriptions", {"customer": "cus_x", "package": "pro", "price": "price_1"}, "e-10", "price", None),
        ("/subscriptions/sub_x", {"proration_behavior": "sometimes"}, "e-11", "proration_behavior", None),
        ("/subscriptions/sub_x/cancel", {"at_period_end": "later"}, "e-12", "at_period_end", None),
        ("/portal_sessions", {"return_url": "https://a"}, "e-13", "customer", "parameter_missing"),
        (
            "/portal_sessions",
            {"account_id": "acct_none", "return_url": "https://a"},
            "e-14",
            "account_id",
            "account_without_customer",
        ),
    ],
)
async def test_bad_input_is_a_400_naming_the_field(
    client: httpx.AsyncClient, path: str, body: Any, key: str | None, param: str, code: str | None
) -> None:
    answer = await post(client, path, body, key)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    if code is not None:
        assert error["code"] == code


async def test_not_json_and_not_an_object_are_400s(client: httpx.AsyncClient) -> None:
    headers = {**AUTH, "Idempotency-Key": "raw", "Content-Type": "application/json"}
    for content in (b"{", b"[]", b"\xff\xfe"):
        answer = await client.post(f"{BASE}/customers", content=content, headers=headers)
        assert answer.status_code == 400, (content, answer.text)


async def test_a_reused_key_a_processor_refusal_and_an_outage(rt: Runtime, client: httpx.AsyncClient) -> None:
    assert (await post(client, "/customers", {"email": "a@example.com"}, "same")).status_code == 200
    reused = await post(client, "/customers", {"email": "b@example.com"}, "same")
    assert reused.status_code == 400
    assert (reused.json()["error"]["code"], reused.json()["error"]["param"]) == (
        "idempotency_key_reused",
        "idempotency_key",
    )

    missing = await post(client, "/subscriptions/sub_nope/cancel", {}, "gone")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "resource_missing"
    assert (await post(client, "/subscriptions/sub_nope/cancel", {}, "gone")).status_code == 404  # stored

    assert isinstance(rt.processor, FakeProcessor)
    await rt.processor.engine.fail_next("500")
    down = await post(client, "/customers", {"email": "d@example.com"}, "outage")
    assert down.status_code == 503
    assert down.headers["Retry-After"] == "5"
    assert down.json()["error"]["code"] == "processor_unavailable"
    await rt.processor.engine.fail_next("429", retry_after=30)
    throttled = await post(client, "/customers", {"email": "d@example.com"}, "outage")
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (503, "30")
    retried = await post(client, "/customers", {"email": "d@example.com"}, "outage")
    assert retried.status_code == 200
    assert "Idempotent-Replayed" not in retried.headers


async def test_no_token_no_action(client: httpx.AsyncClient) -> None:
    answer = await client.post(f"{BASE}/customers", json={}, headers={"Idempotency-Key": "x"})
    assert answer.status_code == 401


async def test_the_routes_are_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    for path in (
        "/customers",
        "/customers/{customer_id}",
        "/checkout_sessions",
        "/portal_sessions",
        "/subscriptions",
        "/subscriptions/{subscription_id}",
        "/subscriptions/{subscription_id}/cancel",
        "/subscriptions/{subscription_id}/resume",
    ):
        operation = paths[f"{BASE}{path}"]["post"]
        assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in operation["parameters"])
        assert {"200", "400", "401", "404", "409", "410", "503"} <= set(operation["responses"])
        assert operation["security"] == [{"serviceToken": []}]


async def test_concurrent_requests_with_one_key_make_one_session_and_its_url_is_never_logged(
    rt: Runtime, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    quiet_payload_loggers()
    body = {"account_id": "acct_many", "package": "starter", "success_url": "https://app.example/ok"}
    answers = await asyncio.gather(*(post(client, "/checkout_sessions", body, "many") for _ in range(8)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["id"] for a in answers}) == 1
    assert sorted(a.headers.get("Idempotent-Replayed", "false") for a in answers) == ["false"] + ["true"] * 7
    url = answers[0].json()["url"]
    assert url
    async with rt.db.connect() as conn:
        rows = (await conn.execute(sa.select(billing_actions.c.idempotency_key))).scalars().all()
    assert rows == ["many"]
    logged = caplog.text + "".join(json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert url not in logged


async def test_a_session_key_repeated_after_the_session_expired_is_a_410(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    body = {"account_id": "acct_x", "package": "pro", "success_url": "https://app.example/ok"}
    first = await post(client, "/checkout_sessions", body, "x-1")
    assert first.status_code == 200, first.text
    assert isinstance(rt.clock, FrozenClock)
    rt.clock.advance(timedelta(hours=24, seconds=1))
    again = await post(client, "/checkout_sessions", body, "x-1")
    assert again.status_code == 410
    error = again.json()["error"]
    assert (error["code"], error["param"]) == ("session_expired", "idempotency_key")
    assert first.json()["url"] not in again.text
