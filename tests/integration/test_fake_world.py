"""The fake processor's world on both databases: ids, clock, scripted failures, idempotency, its stories."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from remit.clock import FrozenClock
from remit.errors import ProcessorError
from remit.processor.fake import FakeEngine, FakeProcessor

SECRET = "whsec_test_world"
DAY = 86400


@pytest.fixture
def start() -> datetime:
    return datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def fake(database, collected, start) -> FakeProcessor:
    return FakeProcessor(FakeEngine(database, FrozenClock(start), delivery=collected, secret=SECRET))


async def subscribe(
    fake: FakeProcessor, card: str = "pm_card_visa", *, trial_days: int | None = None, tag: str = "a"
) -> tuple[dict, dict]:
    customer = await fake.create_customer(idempotency_key=f"{tag}-c", email="someone@example.com", payment_method=card)
    product = await fake.create_product(name="Pro", idempotency_key=f"{tag}-p")
    price = await fake.create_price(product=product["id"], unit_amount=4900, idempotency_key=f"{tag}-pr")
    sub = await fake.create_subscription(
        customer=customer["id"],
        items=[{"price": price["id"]}],
        trial_period_days=trial_days,
        idempotency_key=f"{tag}-s",
    )
    return customer, sub


async def test_ids_are_deterministic_counters_per_prefix(fake, collected):
    first = await fake.create_customer(idempotency_key="k1")
    second = await fake.create_customer(idempotency_key="k2")
    product = await fake.create_product(name="P", idempotency_key="k3")
    assert (first["id"], second["id"], product["id"]) == ("cus_fake000001", "cus_fake000002", "prod_fake000001")
    assert [e.event_id for e in collected.events] == ["evt_fake000001", "evt_fake000002", "evt_fake000003"]


async def test_subscription_start_emits_stripes_sequence_and_charges(fake, collected):
    _, sub = await subscribe(fake)
    assert sub["status"] == "active"
    assert collected.types[-8:] == [
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "invoice.paid",
        "invoice.payment_succeeded",
    ]
    invoice = await fake.retrieve_invoice(sub["latest_invoice"])
    assert (invoice["status"], invoice["amount_paid"], invoice["subscription"]) == ("paid", 4900, sub["id"])
    charge = await fake.request("GET", f"/v1/charges/{invoice['charge']}")
    txn = await fake.retrieve_balance_transaction(charge["balance_transaction"])
    assert (txn["amount"], txn["fee"], txn["net"]) == (4900, 172, 4728)


async def test_clock_advance_renews_a_subscription(fake, collected, start):
    _, sub = await subscribe(fake)
    collected.clear()
    now, events = await fake.engine.advance_clock(31 * DAY)
    assert now == start + timedelta(days=31)
    assert [e.type for e in events] == collected.types
    assert await fake.engine.now() == now
    assert collected.types == [
        "customer.subscription.updated",
        "invoice.created",
        "invoice.finalized",
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "invoice.paid",
        "invoice.payment_succeeded",
    ]
    renewed = await fake.retrieve_subscription(sub["id"])
    assert renewed["current_period_start"] == sub["current_period_end"]
    assert renewed["latest_invoice"] != sub["latest_invoice"]
    listed = await fake.list_invoices(subscription=sub["id"])
    assert [i["billing_reason"] for i in listed["data"]] == ["subscription_cycle", "subscription_create"]


async def test_trials_warn_end_and_cancel_at_period_end(fake, collected):
    _, sub = await subscribe(fake, trial_days=7)
    assert sub["status"] == "trialing"
    assert "customer.subscription.trial_will_end" not in collected.types
    await fake.engine.advance_clock(5 * DAY)
    assert collected.types[-1] == "customer.subscription.trial_will_end"
    await fake.engine.advance_clock(3 * DAY)
    assert (await fake.retrieve_subscription(sub["id"]))["status"] == "active"
    assert "invoice.paid" in collected.types[-4:]
    await fake.cancel_subscription(sub["id"], at_period_end=True, idempotency_key="cancel")
    resumed = await fake.resume_subscription(sub["id"], idempotency_key="resume")
    assert resumed["cancel_at_period_end"] is False
    await fake.cancel_subscription(sub["id"], at_period_end=True, idempotency_key="cancel-again")
    collected.clear()
    await fake.engine.advance_clock(32 * DAY)
    assert collected.types == ["customer.subscription.deleted"]
    assert (await fake.retrieve_subscription(sub["id"]))["status"] == "canceled"


async def test_failed_renewal_goes_past_due_and_a_retry_with_a_new_card_pays(fake, collected):
    customer, sub = await subscribe(fake)
    bad = await fake.attach_payment_method("pm_card_chargeCustomerFail", customer=customer["id"], idempotency_key="bad")
    await fake.update_customer(customer["id"], default_payment_method=bad["id"], idempotency_key="use-bad")
    collected.clear()
    await fake.engine.advance_clock(31 * DAY)
    assert collected.types[-3:] == [
        "payment_intent.payment_failed",
        "invoice.payment_failed",
        "customer.subscription.updated",
    ]
    assert (await fake.retrieve_subscription(sub["id"]))["status"] == "past_due"
    good = await fake.attach_payment_method("pm_card_visa", customer=customer["id"], idempotency_key="good")
    await fake.update_customer(customer["id"], default_payment_method=good["id"], idempotency_key="use-good")
    await fake.engine.advance_clock(3 * DAY)
    assert collected.types[-3:] == ["invoice.paid", "invoice.payment_succeeded", "customer.subscription.updated"]
    assert (await fake.retrieve_subscription(sub["id"]))["status"] == "active"


async def test_scripted_429_answers_retry_after_and_changes_nothing(fake, collected):
    await fake.engine.fail_next("429", retry_after=7)
    with pytest.raises(ProcessorError) as caught:
        await fake.create_customer(idempotency_key="same")
    error = caught.value
    assert (error.status_code, error.retry_after, error.code) == (429, 7.0, "rate_limit")
    assert error.is_rate_limit
    assert error.is_retryable
    assert collected.events == []
    retried = await fake.create_customer(idempotency_key="same")
    assert retried["id"] == "cus_fake000001"


async def test_scripted_500_and_timeout_are_retryable_processor_errors(fake):
    await fake.engine.fail_next("500")
    with pytest.raises(ProcessorError) as server_error:
        await fake.ping()
    assert (server_error.value.status_code, server_error.value.code, server_error.value.retry_after) == (
        500,
        "api_error",
        None,
    )
    await fake.engine.fail_next("timeout", hold_seconds=0.01)
    with pytest.raises(ProcessorError) as timeout:
        await fake.ping()
    assert (timeout.value.status_code, timeout.value.code) == (None, "timeout")
    assert timeout.value.is_retryable
    await fake.ping()


async def test_a_scripted_401_is_an_expired_key_and_changes_nothing(fake, collected):
    await fake.engine.fail_next("401", method="customers.create")
    with pytest.raises(ProcessorError) as caught:
        await fake.create_customer(idempotency_key="same")
    assert (caught.value.status_code, caught.value.code) == (401, "api_key_expired")
    assert not caught.value.is_retryable
    assert collected.events == []
    assert (await fake.create_customer(idempotency_key="same"))["id"] == "cus_fake000001"


async def test_scripted_failures_can_target_one_method_and_a_count(fake):
    customer, sub = await subscribe(fake)
    await fake.engine.fail_next("500", count=2, method="invoices.retrieve")
    assert (await fake.engine.scripted_failures())[0].remaining == 2
    await fake.retrieve_customer(customer["id"])
    for _ in range(2):
        with pytest.raises(ProcessorError):
            await fake.retrieve_invoice(sub["latest_invoice"])
    assert (await fake.retrieve_invoice(sub["latest_invoice"]))["id"] == sub["latest_invoice"]
    assert await fake.engine.scripted_failures() == []


async def test_a_repeated_key_returns_the_first_result_and_emits_nothing(fake, collected):
    first = await fake.create_customer(idempotency_key="signup-1", email="a@example.com")
    again = await fake.create_customer(idempotency_key="signup-1", email="a@example.com")
    assert again == first
    assert collected.types == ["customer.created"]
    with pytest.raises(ProcessorError) as caught:
        await fake.create_customer(idempotency_key="signup-1", email="b@example.com")
    assert (caught.value.status_code, caught.value.code) == (400, "idempotency_key_in_use")


async def test_concurrent_calls_with_one_key_act_once(fake, collected):
    results = await asyncio.gather(*(fake.create_customer(idempotency_key="race") for _ in range(8)))
    assert {r["id"] for r in results} == {"cus_fake000001"}
    assert collected.types == ["customer.created"]


async def test_a_declined_payment_commits_its_events_and_replays_its_402(fake, collected):
    customer, sub = await subscribe(fake, "pm_card_chargeCustomerFail")
    assert sub["status"] == "incomplete"
    assert collected.types[-3:] == ["charge.failed", "payment_intent.payment_failed", "invoice.payment_failed"]
    count = len(collected.events)
    for _ in range(2):
        with pytest.raises(ProcessorError) as caught:
            await fake.pay_invoice(sub["latest_invoice"], idempotency_key="retry-1")
        assert (caught.value.status_code, caught.value.code) == (402, "card_declined")
        assert not caught.value.is_retryable
    assert collected.types[count:] == [
        "payment_intent.created",
        "charge.failed",
        "payment_intent.payment_failed",
        "invoice.payment_failed",
    ]
    card = await fake.attach_payment_method("pm_card_visa", customer=customer["id"], idempotency_key="card")
    paid = await fake.pay_invoice(sub["latest_invoice"], payment_method=card["id"], idempotency_key="retry-2")
    assert paid["status"] == "paid"
    assert collected.types[-1] == "customer.subscription.updated"
    assert (await fake.retrieve_subscription(sub["id"]))["status"] == "active"


async def test_refunds_and_disputes(fake, collected):
    _, sub = await subscribe(fake)
    invoice = await fake.retrieve_invoice(sub["latest_invoice"])
    refund = await fake.create_refund(charge=invoice["charge"], amount=900, idempotency_key="r1")
    assert (refund["amount"], refund["status"]) == (900, "succeeded")
    refunded = collected.events[-1]
    assert refunded.event_type == "charge.refunded"
    body = json.loads(refunded.payload)
    assert body["data"]["previous_attributes"]["amount_refunded"] == 0
    assert body["data"]["object"]["amount_refunded"] == 900
    with pytest.raises(ProcessorError) as too_much:
        await fake.create_refund(charge=invoice["charge"], amount=99999, idempotency_key="r2")
    assert too_much.value.status_code == 400
    intent = await fake.request(
        "POST",
        "/v1/payment_intents",
        {"amount": 2500, "currency": "usd", "payment_method": "pm_card_createDispute", "confirm": True},
        idempotency_key="pi",
    )
    assert intent["status"] == "succeeded"
    assert collected.types[-3:] == ["charge.dispute.created", "charge.dispute.funds_withdrawn", "charge.updated"]
    dispute = json.loads(collected.events[-3].payload)["data"]["object"]
    withdrawal = await fake.retrieve_balance_transaction(dispute["balance_transactions"][0]["id"])
    assert withdrawal["amount"] == -2500


async def test_plan_change_and_customer_deletion(fake, collected):
    customer, sub = await subscribe(fake)
    product = await fake.create_product(name="Team", idempotency_key="team")
    team = await fake.create_price(product=product["id"], unit_amount=9900, idempotency_key="team-price")
    changed = await fake.update_subscription(sub["id"], price=team["id"], idempotency_key="upgrade")
    assert changed["plan"]["id"] == team["id"]
    previous = json.loads(collected.events[-1].payload)["data"]["previous_attributes"]
    assert previous["plan"]["id"] == sub["plan"]["id"]
    deleted = await fake.delete_customer(customer["id"], idempotency_key="bye")
    assert deleted == {"id": customer["id"], "object": "customer", "deleted": True}
    assert collected.types[-2:] == ["customer.subscription.deleted", "customer.deleted"]
    assert (await fake.retrieve_customer(customer["id"]))["deleted"] is True
    with pytest.raises(ProcessorError) as missing:
        await fake.retrieve_customer("cus_nope")
    assert (missing.value.status_code, missing.value.code) == (404, "resource_missing")


async def test_checkout_portal_meter_events_and_event_refetch(fake, collected):
    product = await fake.create_product(name="Pro", idempotency_key="p")
    price = await fake.create_price(product=product["id"], unit_amount=4900, idempotency_key="pr")
    session = await fake.create_checkout_session(
        idempotency_key="cs",
        mode="subscription",
        success_url="https://example.com/ok",
        line_items=[{"price": price["id"], "quantity": 1}],
        customer_email="new@example.com",
    )
    assert session["status"] == "open"
    assert session["url"]
    done = await fake.complete_checkout_session(session["id"], idempotency_key="pay")
    assert (done["status"], done["payment_status"]) == ("complete", "paid")
    assert collected.types[3:5] == ["customer.created", "payment_method.attached"]
    assert collected.types[-1] == "checkout.session.completed"
    portal = await fake.create_billing_portal_session(
        customer=done["customer"], return_url="https://e.x/", idempotency_key="portal"
    )
    assert portal["object"] == "billing_portal.session"
    assert portal["url"]
    event = collected.events[-1]
    assert await fake.retrieve_event(event.event_id) == json.loads(event.payload)
    usage = await fake.create_meter_event(
        event_name="api_calls",
        payload={"stripe_customer_id": done["customer"], "value": "3"},
        identifier="u-1",
        idempotency_key="m1",
    )
    assert (usage["object"], usage["identifier"]) == ("billing.meter_event", "u-1")
    assert collected.types[-1] == "v1.billing.meter.no_meter_found"
