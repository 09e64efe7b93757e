"""The internal read API over the real app, on SQLite and PostgreSQL: tokens, Stripe-shaped lists, objects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from remit.api.app import create_app
from remit.api.auth import bearer_token, matching_token
from remit.billing import apply_event
from remit.config import Settings
from remit.db.tables import webhook_events
from remit.parts import build_runtime
from remit.runtime import Runtime

pytestmark = pytest.mark.timeout(120)

BASE = 1_772_366_400
TOKENS = ("tok_live_console_0123456789abcdef", "tok_new_rotation_fedcba9876543210")
AUTH = {"Authorization": f"Bearer {TOKENS[0]}"}


@pytest.fixture
async def api_runtime(db_url: str) -> AsyncIterator[Runtime]:
    settings = Settings.model_validate(
        {"DATABASE_URL": db_url, "REMIT_ENV": "test", "REMIT_SERVICE_TOKENS": ",".join(TOKENS)}
    )
    runtime = build_runtime(settings)
    yield runtime
    await runtime.close()


@pytest.fixture
async def client(api_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(api_runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://remit") as http:
        yield http


async def _apply(runtime: Runtime, event_type: str, obj: dict[str, Any], at: int = BASE) -> None:
    event = {
        "id": f"evt_{obj['id']}_{at}",
        "object": "event",
        "type": event_type,
        "created": at,
        "data": {"object": obj},
    }
    async with runtime.db.begin() as conn:
        await apply_event(conn, runtime, event)


async def _customers(runtime: Runtime, count: int) -> list[str]:
    ids = [f"cus_{n:03d}" for n in range(count)]
    for n, stripe_id in enumerate(ids):
        await _apply(
            runtime, "customer.created", {"id": stripe_id, "object": "customer", "created": BASE + n, "balance": n}
        )
    return ids


# -- tokens ----------------------------------------------------------------------------------------------------


def test_bearer_parsing_and_token_matching() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("  bearer   abc  ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer") is None
    assert bearer_token(None) is None
    assert matching_token("b", ["a", "b", "b"]) == 1
    assert matching_token("c", ["a", "b"]) is None
    assert matching_token("ä", ["ä"]) == 0
    assert matching_token("x", []) is None


def test_tokens_are_compared_as_equal_length_digests(monkeypatch: pytest.MonkeyPatch) -> None:
    """compare_digest returns early on a length mismatch; every comparison must be of equal-length inputs."""
    import remit.api.auth as auth

    compared: list[tuple[int, int]] = []
    real = auth.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    assert matching_token("short", [TOKENS[0], "x", TOKENS[1]]) is None
    assert matching_token(TOKENS[1], list(TOKENS)) == 1
    assert len(compared) == 5
    assert all(a == b for a, b in compared)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {TOKENS[0]}"},
        {"Authorization": f"Bearer {TOKENS[0]}x"},
        {"Authorization": "Bearer "},
    ],
)
async def test_requests_without_a_valid_token_get_401_json(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for path in ("/api/v1/billing/customers", "/api/v1/billing/customers/cus_1", "/api/v1/billing/webhook-events"):
        response = await client.get(path, headers=headers)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"].startswith("Bearer")
        error = response.json()["error"]
        assert (error["type"], error["code"]) == ("authentication_error", "unauthorized")
        assert TOKENS[0] not in response.text


async def test_every_configured_token_is_accepted(client: httpx.AsyncClient) -> None:
    for token in TOKENS:
        response = await client.get("/api/v1/billing/customers", headers={"Authorization": f"bearer {token}"})
        assert response.status_code == 200


async def test_with_no_tokens_configured_everything_is_refused(runtime: Runtime) -> None:
    assert runtime.settings.service_tokens == []
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://remit") as http:
        for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer anything"}):
            response = await http.get("/api/v1/billing/customers", headers=headers)
            assert response.status_code == 401
            assert "REMIT_SERVICE_TOKENS" in response.json()["error"]["message"]


# -- lists -----------------------------------------------------------------------------------------------------


async def test_a_list_is_shaped_like_stripes_and_newest_first(api_runtime: Runtime, client: httpx.AsyncClient) -> None:
    ids = await _customers(api_runtime, 3)
    body = (await client.get("/api/v1/billing/customers", headers=AUTH)).json()
    assert set(body) == {"object", "data", "has_more", "url"}
    assert (body["object"], body["has_more"], body["url"]) == ("list", False, "/api/v1/billing/customers")
    assert [c["id"] for c in body["data"]] == list(reversed(ids))
    first = body["data"][0]
    assert (first["object"], first["balance"]) == ("customer", 2)
    assert first["remit"]["deleted"] is False
    assert first["remit"]["watermark"]["event_id"] == f"evt_{ids[2]}_{BASE}"


async def test_paging_with_limit_and_starting_after_visits_every_object_once(
    api_runtime: Runtime, client: httpx.AsyncClient
) -> None:
    ids = await _customers(api_runtime, 25)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 7}
        if cursor:
            params["starting_after"] = cursor
        body = (await client.get("/api/v1/billing/customers", params=params, headers=AUTH)).json()
        seen += [c["id"] for c in body["data"]]
        pages += 1
        if not body["has_more"]:
            break
        cursor = body["data"][-1]["id"]
    assert pages == 4
    assert seen == list(reversed(ids))
    default = (await client.get("/api/v1/billing/customers", headers=AUTH)).json()
    assert len(default["data"]) == 10
    assert default["has_more"] is True


@pytest.mark.parametrize("path", ["customers", "subscriptions", "invoices", "charges", "webhook-events"])
@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1", "1.5", ""])
async def test_an_invalid_limit_is_a_400(client: httpx.AsyncClient, limit: str, path: str) -> None:
    response = await client.get(f"/api/v1/billing/{path}", params={"limit": limit}, headers=AUTH)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "parameter_invalid_integer",
        "limit",
    )


async def test_an_unknown_cursor_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/billing/invoices", params={"starting_after": "in_nope"}, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "code": "resource_missing",
        "message": "No such invoice: 'in_nope'",
        "param": "starting_after",
    }


async def test_filters_by_customer_and_status(api_runtime: Runtime, client: httpx.AsyncClient) -> None:
    for n, (customer, status) in enumerate([("cus_a", "active"), ("cus_a", "canceled"), ("cus_b", "active")]):
        await _apply(
            api_runtime,
            "customer.subscription.updated",
            {"id": f"sub_{n}", "object": "subscription", "customer": customer, "status": status, "created": BASE + n},
        )
        await _apply(
            api_runtime,
            "invoice.paid",
            {
                "id": f"in_{n}",
                "object": "invoice",
                "customer": customer,
                "subscription": f"sub_{n}",
                "status": "paid" if status == "active" else "open",
                "created": BASE + n,
            },
        )
        await _apply(
            api_runtime,
            "charge.succeeded",
            {
                "id": f"ch_{n}",
                "object": "charge",
                "customer": customer,
                "status": "succeeded",
                "amount": 100 * n,
                "created": BASE + n,
            },
        )

    async def ids(path: str, **params: str) -> list[str]:
        response = await client.get(f"/api/v1/billing/{path}", params=params, headers=AUTH)
        assert response.status_code == 200
        return [item["id"] for item in response.json()["data"]]

    assert await ids("subscriptions", customer="cus_a") == ["sub_1", "sub_0"]
    assert await ids("subscriptions", customer="cus_a", status="active") == ["sub_0"]
    assert await ids("subscriptions", status="active") == ["sub_2", "sub_0"]
    assert await ids("invoices", status="open") == ["in_1"]
    assert await ids("invoices", subscription="sub_2") == ["in_2"]
    assert await ids("charges", customer="cus_b") == ["ch_2"]
    assert await ids("charges", customer="cus_nobody") == []


async def test_deleted_objects_are_listed_only_on_request(api_runtime: Runtime, client: httpx.AsyncClient) -> None:
    await _customers(api_runtime, 2)
    await _apply(
        api_runtime, "customer.deleted", {"id": "cus_000", "object": "customer", "deleted": True}, at=BASE + 100
    )
    listed = (await client.get("/api/v1/billing/customers", headers=AUTH)).json()
    assert [c["id"] for c in listed["data"]] == ["cus_001"]
    everything = (
        await client.get("/api/v1/billing/customers", params={"include_deleted": "true"}, headers=AUTH)
    ).json()
    assert [(c["id"], c["remit"]["deleted"]) for c in everything["data"]] == [("cus_001", False), ("cus_000", True)]
    bad = await client.get("/api/v1/billing/customers", params={"include_deleted": "maybe"}, headers=AUTH)
    assert bad.status_code == 400
    gone = await client.get("/api/v1/billing/customers/cus_000", headers=AUTH)
    assert gone.status_code == 200
    body = gone.json()
    assert (body["id"], body["balance"], body["remit"]["deleted"]) == ("cus_000", 0, True)
    assert body["remit"]["watermark"]["phase"] == "deleted"


# -- single objects --------------------------------------------------------------------------------------------


async def test_one_object_is_the_processors_json_with_remit_fields(
    api_runtime: Runtime, client: httpx.AsyncClient
) -> None:
    customer = {
        "id": "cus_1",
        "object": "customer",
        "created": BASE - 50,
        "balance": 0,
        "currency": "usd",
        "metadata": {"plan": "pro"},
        "livemode": False,
    }
    await _apply(api_runtime, "customer.updated", customer, at=BASE)
    response = await client.get("/api/v1/billing/customers/cus_1", headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    remit = body.pop("remit")
    assert body == customer
    assert remit["deleted"] is False
    assert remit["watermark"] == {
        "event_id": f"evt_cus_1_{BASE}",
        "event_created": BASE,
        "version_hint": 0,
        "phase": "updated",
    }
    assert datetime.fromisoformat(remit["created_at"]).tzinfo is not None
    assert datetime.fromisoformat(remit["updated_at"]) >= datetime.fromisoformat(remit["created_at"])


@pytest.mark.parametrize(
    "path", ["customers/cus_missing", "subscriptions/sub_missing", "invoices/in_missing", "charges/ch_missing"]
)
async def test_an_unknown_id_is_a_404_json(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(f"/api/v1/billing/{path}", headers=AUTH)
    assert response.status_code == 404
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "resource_missing")


async def test_other_single_objects(api_runtime: Runtime, client: httpx.AsyncClient) -> None:
    await _apply(api_runtime, "invoice.paid", {"id": "in_1", "object": "invoice", "status": "paid"})
    await _apply(api_runtime, "charge.succeeded", {"id": "ch_1", "object": "charge", "status": "succeeded"})
    await _apply(
        api_runtime, "customer.subscription.created", {"id": "sub_1", "object": "subscription", "status": "active"}
    )
    for path, stripe_id in (("invoices", "in_1"), ("charges", "ch_1"), ("subscriptions", "sub_1")):
        body = (await client.get(f"/api/v1/billing/{path}/{stripe_id}", headers=AUTH)).json()
        assert body["id"] == stripe_id
        assert "remit" in body


# -- webhook events --------------------------------------------------------------------------------------------


async def _webhook_rows(runtime: Runtime) -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    rows = [
        {"event_id": f"evt_{n}", "type": event_type, "status": status, "body": '{"secret": "raw body"}'}
        for n, (event_type, status) in enumerate(
            [
                ("invoice.paid", "processed"),
                ("invoice.payment_failed", "dead"),
                ("customer.created", "processed"),
                ("charge.failed", "dead"),
                ("invoice.paid", "dead"),
            ]
        )
    ]
    async with runtime.db.begin() as conn:
        for row in rows:
            await conn.execute(
                webhook_events.insert().values(
                    endpoint="stripe",
                    processor="stripe",
                    livemode=False,
                    api_version="2024-06-20",
                    account=None,
                    object_id="in_1",
                    object_type="invoice",
                    event_created_at=now,
                    received_at=now,
                    attempts=25,
                    last_error={"type": "RuntimeError", "message": "boom"} if row["status"] == "dead" else None,
                    handler_results={},
                    processed_at=None,
                    dead_at=now if row["status"] == "dead" else None,
                    **row,
                )
            )


async def test_webhook_events_are_listed_by_status_without_bodies(
    api_runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await _webhook_rows(api_runtime)
    response = await client.get("/api/v1/billing/webhook-events", params={"status": "dead"}, headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert [e["id"] for e in body["data"]] == ["evt_4", "evt_3", "evt_1"]
    assert body["url"] == "/api/v1/billing/webhook-events"
    first = body["data"][0]
    assert (first["object"], first["type"], first["status"], first["created"]) == (
        "webhook_event",
        "invoice.paid",
        "dead",
        BASE,
    )
    assert first["remit"]["last_error"] == {"type": "RuntimeError", "message": "boom"}
    assert "raw body" not in response.text
    assert "body" not in first
    page = (
        await client.get(
            "/api/v1/billing/webhook-events",
            params={"status": "dead", "limit": 1, "starting_after": "evt_3"},
            headers=AUTH,
        )
    ).json()
    assert ([e["id"] for e in page["data"]], page["has_more"]) == (["evt_1"], False)
    typed = (await client.get("/api/v1/billing/webhook-events", params={"type": "invoice.paid"}, headers=AUTH)).json()
    assert [e["id"] for e in typed["data"]] == ["evt_4", "evt_0"]
    missing = await client.get("/api/v1/billing/webhook-events", params={"starting_after": "evt_x"}, headers=AUTH)
    assert missing.status_code == 400


async def test_handler_errors_are_redacted_in_webhook_events(api_runtime: Runtime, client: httpx.AsyncClient) -> None:
    """A host's exception text may quote a secret or a customer's email; the API masks them as the logs do."""
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    leaky = "refused whsec_0123456789abcdef for ada@example.com"
    async with api_runtime.db.begin() as conn:
        await conn.execute(
            webhook_events.insert().values(
                endpoint="stripe",
                processor="stripe",
                livemode=False,
                api_version="2024-06-20",
                account=None,
                event_id="evt_leak",
                type="customer.updated",
                status="dead",
                body="{}",
                object_id="cus_1",
                object_type="customer",
                event_created_at=now,
                received_at=now,
                attempts=1,
                processed_at=None,
                dead_at=now,
                last_error={"type": "ValueError", "message": leaky, "handler": "host.sync"},
                handler_results={"host.sync": {"ok": False, "type": "ValueError", "message": leaky}},
            )
        )
    response = await client.get("/api/v1/billing/webhook-events", params={"status": "dead"}, headers=AUTH)
    assert response.status_code == 200
    remit = response.json()["data"][0]["remit"]
    assert (remit["last_error"]["type"], remit["last_error"]["handler"]) == ("ValueError", "host.sync")
    assert "0123456789abcdef" not in response.text
    assert "ada@example.com" not in response.text


@pytest.mark.parametrize("status", ["bogus", "DEAD", ""])
async def test_an_unknown_webhook_event_status_is_a_400(client: httpx.AsyncClient, status: str) -> None:
    response = await client.get("/api/v1/billing/webhook-events", params={"status": status}, headers=AUTH)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("parameter_invalid_string", "status")
    assert "dead" in error["message"]


async def test_the_openapi_document_lists_the_billing_routes(api_runtime: Runtime) -> None:
    paths = create_app(api_runtime).openapi()["paths"]
    assert {
        "/api/v1/billing/customers",
        "/api/v1/billing/customers/{customer_id}",
        "/api/v1/billing/webhook-events",
    } <= set(paths)
