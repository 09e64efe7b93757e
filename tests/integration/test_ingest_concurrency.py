"""The same event delivered 20 times at once: one row, one dispatch job, one ledger entry, twenty 200s."""

from __future__ import annotations

import asyncio
import json

from remit.webhooks.endpoints import resolve_endpoints
from remit.webhooks.ingest import receive
from tests.support.webhooks import client_for, counts, event, make_runtime, sign, webhook_settings

DELIVERIES = 20


async def test_twenty_concurrent_deliveries_of_one_event_store_it_once(db_url: str) -> None:
    runtime = make_runtime(webhook_settings(db_url))
    body = json.dumps(event("invoice.paid"))
    header = sign(body, runtime.clock)
    try:
        async with client_for(runtime) as client:
            responses = await asyncio.gather(
                *(
                    client.post("/webhooks/stripe", content=body.encode(), headers={"Stripe-Signature": header})
                    for _ in range(DELIVERIES)
                )
            )
        assert [r.status_code for r in responses] == [200] * DELIVERIES
        assert sum(1 for r in responses if r.json()["duplicate"] is False) == 1
        assert await counts(runtime) == (1, 1, 1)
    finally:
        await runtime.close()


async def test_concurrent_receives_bypassing_http_store_once(db_url: str) -> None:
    """The same race straight on :func:`receive`, so nothing in the HTTP layer serialises the calls."""
    runtime = make_runtime(webhook_settings(db_url))
    body = json.dumps(event("customer.created", obj={"id": "cus_race", "object": "customer"}))
    header = sign(body, runtime.clock)
    endpoint = resolve_endpoints(runtime.settings)[0]
    try:
        results = await asyncio.gather(*(receive(runtime, endpoint, body.encode(), header) for _ in range(DELIVERIES)))
        assert sorted(r.duplicate for r in results) == [False] + [True] * (DELIVERIES - 1)
        assert await counts(runtime) == (1, 1, 1)
    finally:
        await runtime.close()
