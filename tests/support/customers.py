"""A mirrored customer for the admin customer page's tests (over HTTP and in a real browser): the customer, its
subscription, invoice and charge from the repository's Stripe fixtures, a mail owed to it and a ledger entry."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from remit import ledger
from remit.billing import apply_event
from remit.db.tables import mail_log
from remit.runtime import Runtime
from tests.support.fixtures import stripe_fixture

CUSTOMER = "cus_6lsBvm5rJ0zyHc"  # the customer the dj-stripe subscription, invoice and charge fixtures name
EMAIL = "john.snow@thewall.com"


def fixture(name: str, **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(stripe_fixture(name).read_text())
    document.update(changes)
    return document


async def apply(runtime: Runtime, event_type: str, obj: dict[str, Any]) -> None:
    event = {
        "id": f"evt_{obj['id']}",
        "object": "event",
        "type": event_type,
        "created": obj["created"],
        "data": {"object": obj},
    }
    async with runtime.db.begin() as conn:
        await apply_event(conn, runtime, event)


async def seed(runtime: Runtime) -> None:
    """The customer (the dj-stripe customer fixture, re-identified as the one the other fixtures name), its
    subscription, invoice and charge, a mail owed to it and a ledger entry about it."""
    customer = fixture("djstripe__customer_cus_4UbFSo9tl62jqj.json", id=CUSTOMER)
    await apply(runtime, "customer.created", customer)
    await apply(
        runtime, "customer.subscription.created", fixture("djstripe__subscription_sub_fakefakefakefakefake0001.json")
    )
    invoice = fixture("djstripe__invoice_in_fakefakefakefakefake0001.json")
    await apply(runtime, "invoice.paid", invoice)
    await apply(runtime, "charge.succeeded", fixture("djstripe__charge_ch_fakefakefakefakefake0001.json"))
    now = runtime.clock.now()
    async with runtime.db.begin() as conn:
        await conn.execute(
            sa.insert(mail_log).values(
                key=f"receipt:{invoice['id']}",
                kind="receipt",
                state="sent",
                subject_id=invoice["id"],
                customer_id=CUSTOMER,
                params={},
                message_id="<m1@remit.test>",
                deliveries=1,
                created_at=now - timedelta(minutes=5),
                updated_at=now,
                sent_at=now,
            )
        )
        await ledger.record(
            conn,
            type="webhook.received",
            subject=f"invoice:{invoice['id']}",
            actor="processor",
            data={"event_type": "invoice.paid"},
            idempotency_key="admin-customers-test-1",
        )
