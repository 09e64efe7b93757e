"""The Connect part, driven by real Stripe payloads: each fixture is signed, delivered over HTTP, dispatched
after the mirror, and must produce exactly the ops events an operator acts on — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from remit.runtime import Runtime
from remit.webhooks.dead_letters import get_event
from remit.webhooks.events import EventStatus
from tests.support.fixtures import stripe_fixture
from tests.support.webhooks import client_for, post_event

Emitted = list[tuple[str, dict[str, Any]]]


def connect_events(seen: Emitted) -> Emitted:
    return [(name, meta) for name, meta in seen if name.startswith("connect_")]


async def deliver(runtime: Runtime, body: str) -> int:
    """Post ``body`` signed, dispatch it, and return the stored row's id (it must end processed)."""
    async with client_for(runtime) as client:
        response = await post_event(client, runtime, body)
    assert response.status_code == 200, response.text
    row_id = response.json()["id"]
    await runtime.drain()
    async with runtime.db.connect() as conn:
        stored = await get_event(conn, row_id)
    assert stored is not None
    assert stored.status is EventStatus.PROCESSED, stored
    return int(row_id)


def fixture_text(name: str) -> str:
    return stripe_fixture(name).read_text()


async def test_a_deauthorized_connected_account_emits_connect_account_deauthorized(
    rt: Runtime, ops_events: Emitted
) -> None:
    row_id = await deliver(rt, fixture_text("djstripe__event_account_application_deauthorized.json"))
    assert connect_events(ops_events) == [
        (
            "connect_account_deauthorized",
            {
                "event_id": row_id,
                "processor_event_id": "evt_1Iu8ZfA3kq9o1aTcf3b7EknK",
                "account_id": "acct_1Fg9jUA3kq9o1aTc",
                "object_id": "ca_JWVN6vOJJs3RKsff0VUwIUfmUmN0VYqe",
            },
        )
    ]


async def test_a_deauthorization_without_an_account_field_still_emits_naming_none(
    rt: Runtime, ops_events: Emitted
) -> None:
    await deliver(rt, fixture_text("stripe-ruby-mock__account.application.deauthorized.json"))
    [(name, metadata)] = connect_events(ops_events)
    assert name == "connect_account_deauthorized"
    assert metadata["account_id"] is None
    assert metadata["processor_event_id"] == "evt_00000000000000"


async def test_a_failed_payout_emits_connect_payout_failed_with_its_amount(rt: Runtime, ops_events: Emitted) -> None:
    row_id = await deliver(rt, fixture_text("stripe-ruby-mock-pr512__payout.failed.json"))
    assert connect_events(ops_events) == [
        (
            "connect_payout_failed",
            {
                "event_id": row_id,
                "processor_event_id": "evt_00000000000000",
                "account_id": None,
                "payout_id": "po_00000000000000",
                "amount": 1100,
                "currency": "usd",
                "failure_code": None,  # this fixture is payout.created's body under another type (SOURCES.md)
            },
        )
    ]


@pytest.mark.parametrize("name", ["pay__account.updated.json", "stripe-ruby-mock__account.updated.json"])
async def test_an_account_update_that_loses_nothing_emits_nothing(rt: Runtime, ops_events: Emitted, name: str) -> None:
    await deliver(rt, fixture_text(name))
    assert connect_events(ops_events) == []


async def test_an_account_update_losing_capabilities_emits_one_event_per_capability(
    rt: Runtime, ops_events: Emitted
) -> None:
    """pay's real account.updated, with the change Stripe reports when card payments are switched off and
    charges disabled: the old values in previous_attributes, the new ones on the account."""
    document = json.loads(fixture_text("pay__account.updated.json"))
    document["id"] = "evt_capability_lost_1"
    account = document["data"]["object"]
    account["capabilities"] = {"card_payments": "inactive", "transfers": "active"}
    account["charges_enabled"] = False
    document["data"]["previous_attributes"] = {
        "capabilities": {"card_payments": "active", "transfers": "active"},
        "charges_enabled": True,
    }
    await deliver(rt, json.dumps(document))
    lost = [(name, meta["capability"], meta["status"], meta["account_id"]) for name, meta in connect_events(ops_events)]
    assert lost == [
        ("connect_capability_lost", "card_payments", "inactive", "acct_00000000000000"),
        ("connect_capability_lost", "charges", "disabled", "acct_00000000000000"),
    ]
    for _, metadata in connect_events(ops_events):  # identifiers only: the account's email, phone, names stay out
        assert set(metadata) == {"event_id", "processor_event_id", "account_id", "capability", "status"}
