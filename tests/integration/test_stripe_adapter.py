"""The live adapter end to end: StripeProcessor → the official SDK → HTTP → the fake's ``/fake/v1`` (served by
uvicorn on a free loopback port) → the fake's world → webhooks emitted."""

import inspect
import json
import logging
import time
from typing import Any

import pytest
import sqlalchemy as sa

from remit.db.tables import fake_objects
from remit.errors import ProcessorError
from remit.processor.base import Processor
from remit.processor.fake import FakeProcessor
from remit.processor.stripe import StripeProcessor
from remit.usage import MeterEventState, records, report_usage
from remit.usage.records import FailureSource
from remit.usage.reporting import ensure_fake_meters, send
from remit.webhooks.event_types import handled_event_types
from tests.support.fake_server import serve_fake

# The SDK's httpx client passes form bodies as ``data=str``, which httpx deprecates; not ours to change.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


#: The adapter's timeout for every call that is not about timeouts: the served fake shares this process with
#: the test, and on a loaded machine one answer can take seconds; a call that gets none is the test's failure.
PATIENT_S = 30.0
#: The timeout test's client gives up after this; the fake holds that answer far longer (until it hangs up).
IMPATIENT_S = 0.5
HELD_S = 60.0


@pytest.fixture
async def served_fake(runtime, collected):
    async with serve_fake(runtime, delivery=collected, secret="whsec_adapter") as served:
        yield served


@pytest.fixture
def served(served_fake):
    """(the app's base URL, the fake processor for setup and inspection)."""
    return served_fake.root, served_fake.fake


@pytest.fixture
def wire(served_fake) -> list[tuple[str, str, str | None]]:
    """Each request the served app got: method, path, ``Idempotency-Key``."""
    return served_fake.wire.requests


@pytest.fixture
async def live(served):
    base, _ = served
    processor = StripeProcessor("sk_test_remit", api_base=f"{base}/fake", timeout=PATIENT_S)
    yield processor
    await processor.close()


async def catalog(fake: FakeProcessor) -> dict:
    product = await fake.create_product(name="Pro", idempotency_key="prod")
    return await fake.create_price(product=product["id"], unit_amount=2000, idempotency_key="price")


async def test_customer_subscription_and_refund_end_to_end(live, served, collected):
    _, fake = served
    price = await catalog(fake)
    await live.ping()
    customer = await live.create_customer(
        idempotency_key="c1", email="ada@example.com", metadata={"a": "1"}, payment_method="pm_card_visa"
    )
    assert isinstance(customer, dict)
    assert customer["id"] == "cus_fake000001"
    assert customer["invoice_settings"]["default_payment_method"] == "pm_fake000001"
    updated = await live.update_customer(customer["id"], name="Ada", idempotency_key="c2")
    assert updated["name"] == "Ada"
    sub = await live.create_subscription(
        customer=customer["id"], items=[{"price": price["id"]}], idempotency_key="s1", metadata={"plan": "pro"}
    )
    assert (sub["status"], sub["metadata"]) == ("active", {"plan": "pro"})
    assert "invoice.paid" in collected.types
    invoice = await live.retrieve_invoice(sub["latest_invoice"])
    listed = await live.list_invoices(customer=customer["id"])
    assert [i["id"] for i in listed["data"]] == [invoice["id"]]
    refund = await live.create_refund(charge=invoice["charge"], amount=500, idempotency_key="r1")
    assert refund["amount"] == 500
    assert collected.types[-1] == "charge.refunded"
    charge = await fake.request("GET", f"/v1/charges/{invoice['charge']}")
    txn = await live.retrieve_balance_transaction(charge["balance_transaction"])
    assert txn["amount"] == 2000
    event = await live.retrieve_event(collected.events[-1].event_id)
    assert event["type"] == "charge.refunded"
    assert event["data"]["object"]["amount_refunded"] == 500
    ending = await live.cancel_subscription(sub["id"], at_period_end=True, idempotency_key="s2")
    assert ending["cancel_at_period_end"] is True
    resumed = await live.resume_subscription(sub["id"], idempotency_key="s3")
    assert resumed["cancel_at_period_end"] is False
    canceled = await live.cancel_subscription(sub["id"], idempotency_key="s4")
    assert canceled["status"] == "canceled"
    deleted = await live.delete_customer(customer["id"], idempotency_key="c3")
    assert deleted["deleted"] is True


async def test_idempotency_keys_reach_the_fake(live, collected):
    first = await live.create_customer(idempotency_key="same", email="a@example.com")
    again = await live.create_customer(idempotency_key="same", email="a@example.com")
    assert again["id"] == first["id"]
    assert collected.types == ["customer.created"]


async def test_errors_map_to_processor_errors(live, served, wire):
    base, fake = served
    await fake.engine.fail_next("429", retry_after=7)
    with pytest.raises(ProcessorError) as limited:
        await live.ping()
    assert (limited.value.status_code, limited.value.retry_after, limited.value.code) == (429, 7.0, "rate_limit")
    await fake.engine.fail_next("500")
    with pytest.raises(ProcessorError) as broken:
        await live.ping()
    assert (broken.value.status_code, broken.value.code) == (500, "api_error")
    await fake.engine.fail_next("401")
    with pytest.raises(ProcessorError) as expired:
        await live.ping()
    assert (expired.value.status_code, expired.value.code) == (401, "api_key_expired")
    await fake.engine.fail_next("timeout", hold_seconds=HELD_S)
    impatient = StripeProcessor("sk_test_remit", api_base=f"{base}/fake", timeout=IMPATIENT_S)
    wire.clear()
    started = time.monotonic()
    with pytest.raises(ProcessorError) as timed_out:
        await impatient.ping()
    waited = time.monotonic() - started
    await impatient.close()
    assert (timed_out.value.status_code, timed_out.value.code) == (None, "timeout")
    assert timed_out.value.is_retryable
    # The client gave up on the held answer (the request reached the fake and used up the scripted failure),
    # not while connecting, and long before the fake would have answered 504.
    assert [path for _method, path, _key in wire] == ["/fake/v1/balance"]
    assert await fake.engine.scripted_failures() == []
    assert waited < HELD_S / 2
    with pytest.raises(ProcessorError) as missing:
        await live.retrieve_customer("cus_nope")
    assert (missing.value.status_code, missing.value.code) == (404, "resource_missing")
    assert "cus_nope" not in str(missing.value)


async def test_declined_invoice_payment_is_a_402(live, served, collected):
    _, fake = served
    price = await catalog(fake)
    customer = await live.create_customer(idempotency_key="c", payment_method="pm_card_chargeCustomerFail")
    sub = await live.create_subscription(customer=customer["id"], items=[{"price": price["id"]}], idempotency_key="s")
    assert sub["status"] == "incomplete"
    with pytest.raises(ProcessorError) as declined:
        await live.pay_invoice(sub["latest_invoice"], idempotency_key="pay")
    assert (declined.value.status_code, declined.value.code) == (402, "card_declined")
    card = await live.attach_payment_method("pm_card_visa", customer=customer["id"], idempotency_key="card")
    paid = await live.pay_invoice(sub["latest_invoice"], payment_method=card["id"], idempotency_key="pay-2")
    assert paid["status"] == "paid"
    assert (await live.retrieve_subscription(sub["id"]))["status"] == "active"


async def test_sessions_usage_and_webhook_endpoints(live, served, collected):
    _, fake = served
    price = await catalog(fake)
    customer = await live.create_customer(idempotency_key="c")
    session = await live.create_checkout_session(
        idempotency_key="cs",
        mode="subscription",
        success_url="https://example.com/ok",
        line_items=[{"price": price["id"], "quantity": 1}],
        customer=customer["id"],
        client_reference_id="acct-1",
    )
    assert (session["object"], session["client_reference_id"]) == ("checkout.session", "acct-1")
    portal = await live.create_billing_portal_session(
        customer=customer["id"], return_url="https://e.x/", idempotency_key="bp"
    )
    assert portal["url"].startswith("https://")
    usage = await live.create_meter_event(
        event_name="api_calls", payload={"stripe_customer_id": customer["id"], "value": "5"}, idempotency_key="m"
    )
    assert usage["event_name"] == "api_calls"
    endpoint = await live.create_webhook_endpoint(
        url="https://remit.example/webhooks/stripe", enabled_events=handled_event_types(), idempotency_key="we"
    )
    assert endpoint["secret"].startswith("whsec_")
    listed = await live.list_webhook_endpoints()
    assert [e["id"] for e in listed] == [endpoint["id"]]
    assert "secret" not in listed[0]
    assert json.loads(collected.events[-1].payload)["type"] == "v1.billing.meter.no_meter_found"


def mutating_methods() -> set[str]:
    """The protocol's methods that take an ``idempotency_key``: every one of them changes something."""
    return {
        name
        for name, member in inspect.getmembers(Processor, inspect.isfunction)
        if "idempotency_key" in inspect.signature(member).parameters
    }


async def test_every_mutating_call_sends_the_callers_idempotency_key(live, served, wire):
    """The SDK invents a random key for a POST without one (useless for a retry in a later job attempt) and
    none for a DELETE; so each mutating call must send exactly the caller's key, on every request it makes."""
    _, fake = served
    price = await catalog(fake)
    made: dict[str, Any] = {}

    async def call(method: str, *, attempt: int = 1, **kwargs: Any) -> Any:
        wire.clear()
        expected = f"key-{method}-{attempt}"
        result = await getattr(live, method)(idempotency_key=expected, **kwargs)
        writes = [(verb, path, key) for verb, path, key in wire if verb != "GET"]
        assert writes, f"{method} made no mutating request"
        assert {key for _, _, key in writes} == {expected}, (method, writes)
        made[method] = result
        return result

    customer = await call("create_customer", email="ada@example.com")
    await call("update_customer", customer_id=customer["id"], name="Ada")
    card = await call("attach_payment_method", payment_method="pm_card_visa", customer=customer["id"])
    sub = await call(
        "create_subscription",
        customer=customer["id"],
        items=[{"price": price["id"]}],
        default_payment_method=card["id"],
    )
    await call("update_subscription", subscription_id=sub["id"], quantity=2)
    await call("cancel_subscription", subscription_id=sub["id"], at_period_end=True)
    await call("resume_subscription", subscription_id=sub["id"])
    invoice = await live.retrieve_invoice(sub["latest_invoice"])
    await call("create_refund", charge=invoice["charge"], amount=100)
    await fake.request(
        "POST",
        "/v1/invoiceitems",
        {"customer": customer["id"], "amount": 700, "currency": "usd"},
        idempotency_key="item",
    )
    open_invoice = await fake.request(
        "POST",
        "/v1/invoices",
        {
            "customer": customer["id"],
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "pending_invoice_items_behavior": "include",
        },
        idempotency_key="open-invoice",
    )
    await fake.request("POST", f"/v1/invoices/{open_invoice['id']}/finalize", idempotency_key="finalize")
    await call("pay_invoice", invoice_id=open_invoice["id"], payment_method=card["id"])
    await fake.request(
        "POST",
        "/v1/invoiceitems",
        {"customer": customer["id"], "amount": 900, "currency": "usd"},
        idempotency_key="item-2",
    )
    written_off = await fake.request(
        "POST",
        "/v1/invoices",
        {
            "customer": customer["id"],
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "pending_invoice_items_behavior": "include",
        },
        idempotency_key="written-off",
    )
    await fake.request("POST", f"/v1/invoices/{written_off['id']}/finalize", idempotency_key="finalize-2")
    await call("mark_invoice_uncollectible", invoice_id=written_off["id"])
    await call(
        "create_checkout_session",
        mode="subscription",
        success_url="https://e.x/ok",
        line_items=[{"price": price["id"], "quantity": 1}],
        customer=customer["id"],
    )
    await call("create_billing_portal_session", customer=customer["id"], return_url="https://e.x/")
    await call(
        "create_meter_event", event_name="api_calls", payload={"stripe_customer_id": customer["id"], "value": "1"}
    )
    await call("create_webhook_endpoint", url="https://e.x/webhooks/stripe", enabled_events=["invoice.paid"])
    await call("cancel_subscription", subscription_id=sub["id"], attempt=2)
    await call("delete_customer", customer_id=customer["id"])
    assert set(made) == mutating_methods()


async def test_the_sdk_never_logs_bodies_even_at_debug(served, caplog):
    """At DEBUG the SDK would log the form body sent and the JSON answered: names, addresses, whole events."""
    base, _ = served
    logging.getLogger("stripe").setLevel(logging.NOTSET)  # as a fresh process has it
    caplog.set_level(logging.DEBUG)
    processor = StripeProcessor("sk_test_remit", api_base=f"{base}/fake", timeout=PATIENT_S)
    try:
        customer = await processor.create_customer(
            idempotency_key="pii", name="Ada Lovelace", extra={"address": {"line1": "12 Marylebone Road"}}
        )
        await processor.retrieve_customer(customer["id"])
    finally:
        await processor.close()
    http_side = ("stripe", "httpx", "httpcore")  # what the adapter's calls log (the server's database aside)
    logged = "\n".join(record.getMessage() for record in caplog.records if record.name.startswith(http_side))
    assert "Request to Stripe api" in logged  # the method-and-URL lines stay
    assert "Lovelace" not in logged
    assert "Marylebone" not in logged


async def test_child_listings_page_through_the_sdk(live, served, wire):
    """``GET /v1/invoices/{id}/lines`` and ``GET /v1/subscription_items?subscription=``: what the mirror calls to
    complete a subscription's ``items`` or an invoice's ``lines`` when the object embeds only the first ten."""
    _, fake = served
    product = await fake.create_product(name="Suite", idempotency_key="prod")
    prices = [
        await fake.create_price(product=product["id"], unit_amount=100 * (n + 1), idempotency_key=f"p{n}")
        for n in range(12)
    ]
    customer = await fake.create_customer(idempotency_key="c", payment_method="pm_card_visa")
    sub = await fake.create_subscription(
        customer=customer["id"], idempotency_key="s", items=[{"price": price["id"]} for price in prices]
    )
    assert (len(sub["items"]["data"]), sub["items"]["has_more"], sub["items"]["total_count"]) == (10, True, 12)
    wire.clear()
    first = await live.list_subscription_items(sub["id"], limit=5)
    assert (first["object"], len(first["data"]), first["has_more"]) == ("list", 5, True)
    rest = await live.list_subscription_items(sub["id"], limit=100, starting_after=first["data"][-1]["id"])
    assert (len(rest["data"]), rest["has_more"]) == (7, False)
    assert [item["price"]["unit_amount"] for item in first["data"] + rest["data"]] == [100 * (n + 1) for n in range(12)]
    lines = await live.list_invoice_lines(sub["latest_invoice"], limit=100)
    assert (len(lines["data"]), lines["has_more"]) == (12, False)
    assert [line["amount"] for line in lines["data"]] == [100 * (n + 1) for n in range(12)]
    assert wire == [("GET", "/fake/v1/subscription_items", None)] * 2 + [
        ("GET", f"/fake/v1/invoices/{sub['latest_invoice']}/lines", None)
    ]
    with pytest.raises(ProcessorError) as missing:
        await live.list_invoice_lines("in_nope")
    assert (missing.value.status_code, missing.value.code) == (404, "resource_missing")
    with pytest.raises(ProcessorError) as no_subscription:
        await live.list_subscription_items("sub_nope")
    assert (no_subscription.value.status_code, no_subscription.value.code) == (404, "resource_missing")
    await fake.engine.fail_next("429", retry_after=4, method="invoices.line_items.list")
    with pytest.raises(ProcessorError) as limited:
        await live.list_invoice_lines(sub["latest_invoice"])
    assert (limited.value.status_code, limited.value.retry_after) == (429, 4.0)


async def test_usage_reaches_stripe_with_a_namespaced_key_and_a_counted_identifier_is_reported(
    runtime, live, served, wire
):
    """Through the SDK: the meter event's ``identifier`` is the operation id and its ``Idempotency-Key`` the
    operation id in remit's namespace, so an operation id a host used as another call's key is reported; and
    Stripe's refusal of an identifier it counted already (sent before under another key) marks the record
    ``reported``, not ``failed``."""
    _, fake = served
    customer = await fake.create_customer(idempotency_key="cus-usage")
    await ensure_fake_meters(runtime)
    await live.create_customer(idempotency_key="demo-9-1")  # the host's own call, with the same text as key
    await live.create_meter_event(
        event_name="api_requests",
        payload={"stripe_customer_id": customer["id"], "value": "1"},
        identifier="op-sent-before",
        idempotency_key="op-sent-before",
    )
    async with runtime.db.begin() as conn:
        fresh = await report_usage(conn, customer["id"], "api_requests", 2, operation_id="demo-9-1")
        repeat = await report_usage(conn, customer["id"], "api_requests", 1, operation_id="op-sent-before")
    wire.clear()
    counts = await send(runtime, live, [fresh.record.id, repeat.record.id], FailureSource.SYNC)
    assert counts == {"reported": 2, "failed": 0, "skipped": 0}
    assert [key for verb, path, key in wire if path == "/fake/v1/billing/meter_events"] == [
        "remit-meter-event:demo-9-1",
        "remit-meter-event:op-sent-before",
    ]
    async with runtime.db.connect() as conn:
        counted = await conn.execute(
            sa.select(fake_objects.c.data).where(fake_objects.c.object == "billing.meter_event")
        )
        assert sorted(row.data["identifier"] for row in counted) == ["demo-9-1", "op-sent-before"]
        stored = {r.operation_id: r for r in await records.by_ids(conn, [fresh.record.id, repeat.record.id])}
    assert {op: r.state for op, r in stored.items()} == {
        "demo-9-1": MeterEventState.REPORTED,
        "op-sent-before": MeterEventState.REPORTED,
    }
