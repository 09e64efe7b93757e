"""A realistic run in a fresh interpreter, printing the ``/metrics`` it produced (for the label-set test).

``python -m tests.support.metrics_flow DATABASE_URL``: deliveries of mirrored, Connect and unknown types, a host
handler failing into a dead letter, refused and unmatched requests, an authenticated and an unauthenticated
read, periodic work, a flag switched off and on, an emergency stop and start, then one scrape. A fresh process
has a registry holding only what this run labelled.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

from remit.clock import FrozenClock
from remit.control.stop import start_all, stop_all
from remit.control.switches import switch
from remit.errors import PermanentFailure
from remit.handlers import event_handler
from remit.part import Part
from remit.parts import build_runtime
from remit.runtime import Runtime
from tests.support.webhooks import client_for, event, post_event, webhook_settings

TOKEN = "svc_metrics_flow_token_5Jq8Lw2Zr7Tn"


async def refuse(ctx: Any) -> None:
    raise PermanentFailure("the host cannot bill this invoice")


HOST = Part(
    name="metrics_flow_host", event_handlers=(event_handler("invoice.payment_failed", refuse, name="host.refuse"),)
)


def runtime_for(db_url: str) -> Runtime:
    settings = webhook_settings(db_url, REMIT_SERVICE_TOKENS=TOKEN, REMIT_FLAGS_REFRESH_SECONDS="0")
    return build_runtime(settings, clock=FrozenClock(datetime.now(UTC).replace(microsecond=0)), extra=[HOST])


async def run(db_url: str) -> str:
    runtime = runtime_for(db_url)
    try:
        async with client_for(runtime) as client:
            for document in [
                event("customer.created", obj={"id": "cus_m1", "object": "customer", "created": 1_700_000_000}),
                event(
                    "customer.updated", obj={"id": "cus_m1", "object": "customer", "created": 1_700_000_000}, created=1
                ),
                event("invoice.payment_failed", obj={"id": "in_m1", "object": "invoice", "customer": "cus_m1"}),
                event("payout.failed", obj={"id": "po_m1", "object": "payout", "amount": 5, "currency": "usd"}),
                event("zzz.never_heard_of", obj={"id": "zz_m1", "object": "zzz"}),
            ]:
                assert (await post_event(client, runtime, document)).status_code == 200
            await client.post(runtime.settings.webhook_path, content=b"{}")
            await client.get("/no/such/path/evt_1234567890")
            await client.get("/api/v1/billing/customers/cus_m1")
            await client.get("/api/v1/billing/customers/cus_m1", headers={"Authorization": f"Bearer {TOKEN}"})
            await client.request("BREW", "/health")
            await runtime.drain()
            await runtime.engine.fire_due(app=runtime)
            await runtime.drain()
            await switch(runtime, "billing", False, actor="operator:flow")
            assert (
                await post_event(client, runtime, event("customer.deleted", obj={"id": "cus_m2", "object": "customer"}))
            ).status_code == 200
            await switch(runtime, "billing", True, actor="operator:flow")
            await stop_all(runtime, actor="operator:flow")
            await start_all(runtime, actor="operator:flow")
            await runtime.drain()
            return (await client.get("/metrics")).text
    finally:
        await runtime.close()


if __name__ == "__main__":
    sys.stdout.write(asyncio.run(run(sys.argv[1])))
