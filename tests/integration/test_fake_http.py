"""``/fake/v1``: Stripe's request and response shapes over HTTP, and delivery into remit's own receiver."""

import json
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa

from remit.api.app import create_app
from remit.clock import FrozenClock
from remit.db.tables import webhook_events
from remit.processor import build_fake_engine
from remit.processor.fake import AsgiDelivery, FakeEngine, FakeProcessor
from remit.processor.fake.triggers import run_trigger

AUTH = {"Authorization": "Bearer sk_test_fake"}


@pytest.fixture
async def client(runtime, collected):
    engine = FakeEngine(runtime.db, FrozenClock(datetime.now(UTC)), delivery=collected, secret="whsec_http")
    runtime.processor = FakeProcessor(engine)
    app = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://remit.test") as http:
        yield http


async def test_form_encoded_calls_answer_stripe_json(client, collected):
    created = await client.post(
        "/fake/v1/customers",
        headers=AUTH,
        content=("email=ada%40example.com&metadata[plan]=pro&payment_method=pm_card_visa"),
    )
    assert created.status_code == 200, created.text
    customer = created.json()
    assert (customer["object"], customer["metadata"]) == ("customer", {"plan": "pro"})
    assert list(customer)[:2] == ["id", "object"]
    assert created.headers["request-id"].startswith("req_fake")
    assert collected.types == ["customer.created", "payment_method.attached"]
    fetched = await client.get(f"/fake/v1/customers/{customer['id']}", headers=AUTH)
    assert fetched.json() == customer
    listed = await client.get("/fake/v1/customers", params={"email": "ada@example.com", "limit": "1"}, headers=AUTH)
    assert listed.json()["object"] == "list"
    assert [c["id"] for c in listed.json()["data"]] == [customer["id"]]


async def test_errors_have_stripes_shape_and_status(client):
    unauthorized = await client.get("/fake/v1/customers/cus_x")
    assert unauthorized.status_code == 401
    assert unauthorized.headers["request-id"].startswith("req_")
    missing = await client.get("/fake/v1/customers/cus_x", headers=AUTH)
    assert missing.status_code == 404
    request_id = missing.headers["request-id"]
    assert missing.json() == {
        "error": {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
            "message": "No such customer: 'cus_x'",
            "param": "id",
            "request_log_url": f"https://fake.remit.invalid/test/logs/{request_id}",
        }
    }
    unknown = await client.post("/fake/v1/teleporters", headers=AUTH)
    assert unknown.status_code == 404
    preview = await client.get("/fake/v1/credit_notes/preview", headers=AUTH)  # a Stripe word, not an id
    assert preview.json()["error"]["message"] == "Unrecognized request URL (GET: /v1/credit_notes/preview)."
    bad = await client.post(
        "/fake/v1/prices", headers=AUTH, data={"product": "prod_x", "unit_amount": "5", "currency": "usd"}
    )
    assert bad.status_code == 404
    assert bad.json()["error"]["param"] == "product"


async def test_idempotency_key_header_replays(client, collected):
    first = await client.post("/fake/v1/customers", headers={**AUTH, "Idempotency-Key": "k-1"}, data={"name": "A"})
    second = await client.post("/fake/v1/customers", headers={**AUTH, "Idempotency-Key": "k-1"}, data={"name": "A"})
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert collected.types == ["customer.created"]
    conflict = await client.post("/fake/v1/customers", headers={**AUTH, "Idempotency-Key": "k-1"}, data={"name": "B"})
    assert conflict.status_code == 400
    assert conflict.json()["error"]["type"] == "idempotency_error"


async def test_every_answer_names_its_request_and_a_replay_says_so(client):
    read = await client.get("/fake/v1/balance", headers=AUTH)
    again = await client.get("/fake/v1/balance", headers=AUTH)
    assert read.headers["request-id"].startswith("req_fake")
    assert read.headers["request-id"] != again.headers["request-id"]
    assert read.headers["stripe-version"] == "2020-08-27"
    headers = {**AUTH, "Idempotency-Key": "k-2"}
    first = await client.post("/fake/v1/products", headers=headers, data={"name": "P"})
    replay = await client.post("/fake/v1/products", headers=headers, data={"name": "P"})
    assert "idempotent-replayed" not in first.headers
    assert (replay.headers["idempotent-replayed"], replay.json()) == ("true", first.json())
    assert replay.headers["request-id"] != first.headers["request-id"]


async def test_stripe_version_shapes_the_answer_or_is_refused(client):
    product = (await client.post("/fake/v1/products", headers=AUTH, data={"name": "Pro"})).json()
    price = await client.post(
        "/fake/v1/prices",
        headers=AUTH,
        data={"product": product["id"], "unit_amount": "900", "currency": "usd", "recurring[interval]": "month"},
    )
    customer = (await client.post("/fake/v1/customers", headers=AUTH, data={"payment_method": "pm_card_visa"})).json()
    form = {"customer": customer["id"], "items[0][price]": price.json()["id"]}
    old = (await client.post("/fake/v1/subscriptions", headers=AUTH, data=form)).json()
    assert "current_period_end" in old
    modern = await client.get(
        f"/fake/v1/subscriptions/{old['id']}", headers={**AUTH, "Stripe-Version": "2026-10-28.endive"}
    )
    assert modern.headers["stripe-version"] == "2026-10-28.endive"
    body = modern.json()
    assert "current_period_end" not in body
    assert body["items"]["data"][0]["current_period_end"] == old["current_period_end"]
    refused = await client.get("/fake/v1/balance", headers={**AUTH, "Stripe-Version": "2017-13-45"})
    assert refused.status_code == 400
    assert refused.json()["error"]["message"].startswith("Invalid Stripe API version: 2017-13-45")
    assert refused.json()["error"]["request_log_url"].endswith(refused.headers["request-id"])


async def test_expand_replaces_references_with_their_objects(client):
    customer = (await client.post("/fake/v1/customers", headers=AUTH, data={"payment_method": "pm_card_visa"})).json()
    intent = await client.post(
        "/fake/v1/payment_intents",
        headers=AUTH,
        data={
            "amount": "500",
            "currency": "usd",
            "customer": customer["id"],
            "payment_method": customer["invoice_settings"]["default_payment_method"] or "pm_card_visa",
            "confirm": "true",
            "expand[]": "customer",
        },
    )
    assert intent.json()["customer"]["id"] == customer["id"]
    listed = await client.get(
        "/fake/v1/charges", params={"expand[]": ["data.customer", "data.balance_transaction"]}, headers=AUTH
    )
    charge = listed.json()["data"][0]
    assert (charge["customer"]["object"], charge["balance_transaction"]["object"]) == (
        "customer",
        "balance_transaction",
    )
    bad = await client.get("/fake/v1/charges", params={"expand[]": "customer"}, headers=AUTH)
    assert bad.status_code == 400
    assert "try expanding 'data.customer'" in bad.json()["error"]["message"]
    scalar = await client.get(
        f"/fake/v1/customers/{customer['id']}", params={"expand[]": "invoice_prefix"}, headers=AUTH
    )
    assert scalar.json()["error"]["message"] == "This property cannot be expanded (invoice_prefix)."


async def test_scripted_failures_over_http(client, runtime):
    engine = runtime.processor.engine
    await engine.fail_next("429", retry_after=3, method="customers.create")
    limited = await client.post("/fake/v1/customers", headers=AUTH)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "3"
    assert limited.json()["error"]["type"] == "rate_limit_error"
    await engine.fail_next("500")
    broken = await client.get("/fake/v1/balance", headers=AUTH)
    assert broken.status_code == 500
    assert broken.json()["error"]["type"] == "api_error"
    await engine.fail_next("timeout", hold_seconds=0.01)
    held = await client.get("/fake/v1/balance", headers=AUTH)
    assert held.status_code == 504
    assert (await client.get("/fake/v1/balance", headers=AUTH)).status_code == 200


async def test_v2_json_meter_stream(client, collected):
    session = await client.post("/fake/v2/billing/meter_event_session", headers=AUTH, json={})
    assert session.json()["object"] == "v2.billing.meter_event_session"
    stream = await client.post(
        "/fake/v2/billing/meter_event_stream",
        headers=AUTH,
        json={"events": [{"event_name": "nobody_meters_this", "payload": {"value": "1"}}]},
    )
    assert stream.status_code == 200
    assert collected.types == ["v1.billing.meter.no_meter_found"]


async def test_fake_is_not_mounted_for_stripe(settings, runtime):
    stripe_settings = settings.model_copy(
        update={"processor": "stripe", "stripe_api_key": "sk_test_x", "stripe_webhook_secret": ["whsec_x"]}
    )
    runtime.settings = stripe_settings
    app = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://remit.test") as http:
        assert (await http.get("/fake/v1/balance", headers=AUTH)).status_code == 404


async def test_triggered_events_are_accepted_by_remits_own_receiver(runtime, settings):
    app = create_app(runtime)
    engine = build_fake_engine(settings, runtime.db, runtime.clock, delivery=AsgiDelivery(app, settings.webhook_path))
    result = await run_trigger(engine, "invoice.paid")
    assert [d.status_code for d in result.deliveries] == [200] * len(result.events)
    async with runtime.db.connect() as conn:
        stored = (await conn.execute(sa.select(webhook_events.c.event_id).order_by(webhook_events.c.id))).scalars()
        assert list(stored) == [event.id for event in result.events]
    payload = json.loads(result.events[-1].payload)
    assert payload["type"] == "invoice.payment_succeeded"


@pytest.mark.parametrize("name", ["v1.billing.meter.no_meter_found", "v1.billing.meter.error_report_triggered"])
async def test_thin_meter_events_are_stored_and_dispatched_not_refused(runtime, settings, name):
    """Stripe sends billing-meter errors as thin (v2) events; refused, they would be retried for days, then lost."""
    from remit.webhooks.dispatch import DEFAULT_HANDLER

    app = create_app(runtime)
    engine = build_fake_engine(settings, runtime.db, runtime.clock, delivery=AsgiDelivery(app, settings.webhook_path))
    result = await run_trigger(engine, name)
    thin = [event for event in result.events if json.loads(event.payload)["object"] == "v2.core.event"]
    assert thin
    assert [d.status_code for d in result.deliveries] == [200] * len(result.events)
    await runtime.drain()
    async with runtime.db.connect() as conn:
        rows = (
            (
                await conn.execute(
                    sa.select(webhook_events).where(webhook_events.c.event_id.in_([event.id for event in thin]))
                )
            )
            .mappings()
            .all()
        )
    assert {row["type"] for row in rows} == {name}
    for row in rows:
        assert row["status"] == "processed"
        assert row["handler_results"][DEFAULT_HANDLER]["result"]["reason"] == "thin_event"
        assert row["event_created_at"] is not None
