"""Failed payments, expired signups and lost disputes, driven by real Stripe payloads and by the fake
processor's own events: each business event raises its ops event once — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from remit.db.tables import mail_log, money_signals
from remit.runtime import Runtime
from tests.support.fixtures import stripe_fixture
from tests.support.mail import mail_world
from tests.support.webhooks import client_for, post_event

Emitted = list[tuple[str, dict[str, Any]]]
MONEY = {"charge_failed", "incomplete_expired", "revenue_loss", "dunning_exhaustion"}


def money_events(seen: Emitted) -> Emitted:
    return [(name, meta) for name, meta in seen if name in MONEY]


async def deliver(runtime: Runtime, payload: dict[str, Any]) -> int:
    async with client_for(runtime) as client:
        response = await post_event(client, runtime, json.dumps(payload))
    assert response.status_code == 200, response.text
    await runtime.drain()
    return int(response.json()["id"])


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(stripe_fixture(name).read_text())
    return loaded


async def test_charge_failed_and_invoice_payment_failed_of_one_charge_raise_charge_failed_once(
    rt: Runtime, ops_events: Emitted
) -> None:
    charge_event = fixture("stripe-ruby-mock__charge.failed.json")
    invoice_event = fixture("stripe-ruby-mock__invoice.payment_failed.json")
    invoice_event["id"] = "evt_invoice_payment_failed"  # stripe-ruby-mock gives every event one id
    assert invoice_event["data"]["object"]["charge"] == charge_event["data"]["object"]["id"]  # the same charge
    first = await deliver(rt, charge_event)
    await deliver(rt, invoice_event)
    assert money_events(ops_events) == [
        (
            "charge_failed",
            {
                "event_id": first,
                "processor_event_id": charge_event["id"],
                "charge_id": "ch_000000000000000000000000",
                "invoice_id": None,
                "subscription_id": None,
                "customer_id": None,
                "amount": 2000,
                "currency": "usd",
                "failure_code": "card_declined",
                "decline_code": "generic_decline",
                "attempt": None,
            },
        )
    ]
    async with rt.db.connect() as conn:
        keys = (await conn.execute(sa.select(money_signals.c.key))).scalars().all()
    assert keys == ["charge_failed:ch_000000000000000000000000"]


async def test_an_invoice_without_a_charge_raises_charge_failed_per_attempt(rt: Runtime, ops_events: Emitted) -> None:
    payload = fixture("stripe-ruby-mock__invoice.payment_failed.json")
    payload["data"]["object"]["charge"] = None
    await deliver(rt, payload)
    second = json.loads(json.dumps(payload))
    second["id"] = payload["id"] + "_2"
    second["data"]["object"]["attempt_count"] = 2
    await deliver(rt, second)
    await deliver(rt, second | {"id": payload["id"] + "_3"})  # the same attempt again: nothing new
    found = money_events(ops_events)
    assert [(name, meta["invoice_id"], meta["attempt"], meta["amount"]) for name, meta in found] == [
        ("charge_failed", "in_000000000000000000000000", 1, 2000),
        ("charge_failed", "in_000000000000000000000000", 2, 2000),
    ]


async def test_a_subscription_updated_to_incomplete_expired_raises_incomplete_expired_once(
    rt: Runtime, ops_events: Emitted
) -> None:
    # The real customer.subscription.updated payload, with the status Stripe sends when a signup expires.
    payload = fixture("stripe-ruby-mock__customer.subscription.updated.json")
    payload["data"]["object"]["status"] = "incomplete_expired"
    payload["data"]["previous_attributes"] = {"status": "incomplete"}
    row = await deliver(rt, payload)
    await deliver(rt, payload | {"id": payload["id"] + "_again"})
    assert money_events(ops_events) == [
        (
            "incomplete_expired",
            {
                "event_id": row,
                "processor_event_id": payload["id"],
                "subscription_id": "sub_000000000000000000000000",
                "customer_id": "cus_00000000000000",
                "invoice_id": "in_000000000000000000000000",
            },
        )
    ]


async def test_the_unchanged_fixture_raises_nothing(rt: Runtime, ops_events: Emitted) -> None:
    await deliver(rt, fixture("stripe-ruby-mock__customer.subscription.updated.json"))
    await deliver(rt, fixture("stripe-ruby-mock__charge.dispute.closed.json") | {"id": "evt_dispute_won"})
    assert money_events(ops_events) == []


async def test_the_fake_processor_s_declined_renewal_expired_signup_and_lost_dispute(
    db_url: str, ops_events: Emitted
) -> None:
    async with mail_world(db_url) as world:
        fake = world.fake
        price = await world.price(1500)
        declined = await world.customer("pm_card_chargeCustomerFail")
        signup = await world.subscribe(declined, price)  # first payment declined: incomplete
        payer = await world.customer()
        intent = await fake.request(
            "POST",
            "/v1/payment_intents",
            {
                "amount": 2000,
                "currency": "usd",
                "customer": payer,
                "payment_method": "pm_card_createDispute",
                "payment_method_types": ["card"],
                "confirm": True,
            },
            idempotency_key=world.key(),
        )
        await world.drain()
        disputes = await fake.request("GET", "/v1/disputes", {"limit": 10})
        dispute = next(d for d in disputes["data"] if d["payment_intent"] == intent["id"])
        await fake.request("POST", f"/v1/disputes/{dispute['id']}/close", idempotency_key=world.key())
        await fake.engine.advance_clock(24 * 3600)  # the incomplete signup expires after 23 hours
        await world.drain()
        await fake.engine.redeliver(include_delivered=True)  # every event again: nothing is raised twice
        await world.drain()
        async with world.runtime.db.connect() as conn:
            mails = (await conn.execute(sa.select(mail_log.c.key))).scalars().all()

    found = money_events(ops_events)
    names = sorted(name for name, _ in found)
    assert names == ["charge_failed", "incomplete_expired", "revenue_loss"]
    by_name = dict(found)
    assert by_name["charge_failed"]["customer_id"] == declined
    assert by_name["charge_failed"]["amount"] == 1500
    assert by_name["charge_failed"]["failure_code"] == "card_declined"
    assert by_name["incomplete_expired"]["subscription_id"] == signup["id"]
    loss = by_name["revenue_loss"]
    assert (loss["reason"], loss["object_id"], loss["amount"], loss["currency"]) == (
        "dispute_lost",
        dispute["id"],
        2000,
        "usd",
    )
    assert loss["fee"] > 0  # the dispute fee
    assert f"payment_failed:{signup['latest_invoice']}:1" in mails  # the mail part owed the payment-failed mail
