"""Nothing secret or personal leaves through the operator's surfaces.

Secrets are planted in the configuration (webhook signing secret, service token, ops webhook secret and a token
in the ops webhook's URL, a live-looking API key), customer emails, names and a raw-body marker in the events
(and in a connected account's payload), and all of them again in the messages of failing host handlers. Then a
realistic flow runs — deliveries over HTTP, dispatch through the mirror, the Connect part and the host's
handlers, a dead letter, a replay, a prune, a flag switched off and on, an emergency stop and start, ops events
delivered to the ops webhook, ``/metrics`` and ``/health`` scraped — and every log line, every metric sample,
every ops-event payload, every ops webhook body and the health body are scanned: none holds a planted value.
On SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from remit.clock import FrozenClock
from remit.control.stop import start_all, stop_all
from remit.control.switches import switch
from remit.errors import PermanentFailure
from remit.handlers import event_handler
from remit.part import Part
from remit.parts import build_runtime
from remit.telemetry import ops
from remit.telemetry.logging import configure_logging
from remit.webhooks.dead_letters import EventFilter
from remit.webhooks.events import EventStatus
from remit.webhooks.prune import prune_events
from remit.webhooks.replay import replay_matching
from tests.support.logs import configured_logging_restored
from tests.support.servers import serving
from tests.support.webhooks import client_for, event, post_event, webhook_settings

SIGNING_SECRET = "whsec_PlantedSigningSecret0a1b2c3d4e5f"
SERVICE_TOKEN = "svc_PlantedServiceToken_9Zq8Xw7Vu6Ts5Rq4"
OPS_SECRET = "ops_PlantedOpsSecret_4Kd9Lm2Np7Qr"
URL_TOKEN = "PlantedUrlToken7Hx2Jc5"
API_KEY = "sk_live_PlantedApiKey51Hx9Lw2Mq8Zr"
CRON_SECRET = "cron_PlantedCronSecret_3Vb8Nm1Kq6"
EMAIL = "grace.hopper@example.org"
NAME = "Grace Brewster Hopper"
RAW = "RAWBODY-PlantedMarker-6b1f"
ACCOUNT_EMAIL = "owner-of-acct@example.net"

PLANTED = [SIGNING_SECRET, SERVICE_TOKEN, OPS_SECRET, URL_TOKEN, API_KEY, CRON_SECRET, EMAIL, NAME, RAW, ACCOUNT_EMAIL]
#: Parts of the planted values that must not survive either (a partial mask is still a leak).
FRAGMENTS = [
    "PlantedSigningSecret",
    "PlantedServiceToken",
    "PlantedOpsSecret",
    "PlantedApiKey",
    "PlantedCronSecret",
    "grace.hopper",
]


async def careless_handler(ctx: Any) -> None:
    """A host handler that fails quoting everything it should not: fixed never, so its events die."""
    raise PermanentFailure(f"cannot bill {NAME} <{EMAIL}> with {API_KEY}; body was {RAW} signed {SIGNING_SECRET}")


async def flaky_handler(ctx: Any) -> None:
    raise ValueError(f"retry me for {EMAIL}, token {SERVICE_TOKEN}")


HOST = Part(
    name="careless_host",
    event_handlers=(
        event_handler("invoice.payment_failed", careless_handler, name="host.careless"),
        event_handler("customer.updated", flaky_handler, name="host.flaky"),
    ),
)


class OpsReceiver:
    def __init__(self) -> None:
        self.bodies: list[str] = []
        self.headers: list[str] = []

    async def hook(self, request: Request) -> Response:
        self.bodies.append((await request.body()).decode())
        self.headers.append(json.dumps(dict(request.headers)))
        return Response(status_code=204)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[OpsReceiver, str]]:
    target = OpsReceiver()
    app = Starlette(routes=[Route(f"/ops/{URL_TOKEN}", target.hook, methods=["POST"])])
    async with serving(app) as base:
        yield target, f"{base}/ops/{URL_TOKEN}"


def customer(n: int) -> dict[str, Any]:
    return {
        "id": f"cus_leak{n}",
        "object": "customer",
        "email": EMAIL,
        "name": NAME,
        "description": RAW,
        "metadata": {"note": RAW},
        "created": 1_700_000_000,
    }


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging replaces the root handler and sets levels: put back what the test session had."""
    with configured_logging_restored():
        yield


async def test_no_planted_secret_email_name_or_body_reaches_logs_metrics_ops_events_or_health(
    db_url: str, receiver: tuple[OpsReceiver, str], restore_logging: None
) -> None:
    ops_receiver, ops_url = receiver
    settings = webhook_settings(
        db_url,
        STRIPE_WEBHOOK_SECRET=SIGNING_SECRET,
        REMIT_SERVICE_TOKENS=SERVICE_TOKEN,
        REMIT_OPS_WEBHOOK_URL=ops_url,
        REMIT_OPS_WEBHOOK_SECRET=OPS_SECRET,
        STRIPE_API_KEY=API_KEY,
        CRON_SECRET=CRON_SECRET,
        REMIT_WEBHOOK_MAX_ATTEMPTS="2",
        REMIT_FLAGS_REFRESH_SECONDS="0",
        REMIT_LOG_LEVEL="DEBUG",
    )
    logs = io.StringIO()
    configure_logging(settings, stream=logs)
    payloads: list[str] = []
    remove_sink = ops.add_sink(lambda name, fields: payloads.append(json.dumps({"event": name, **fields})))
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    runtime = build_runtime(settings, clock=clock, extra=[HOST])
    surfaces: dict[str, str] = {}
    try:
        async with client_for(runtime) as client:
            documents = [
                event("customer.created", obj=customer(1)),
                event("customer.updated", obj=customer(1)),
                event(
                    "invoice.payment_failed",
                    obj={
                        "id": "in_leak1",
                        "object": "invoice",
                        "customer": "cus_leak1",
                        "customer_email": EMAIL,
                        "customer_name": NAME,
                        "description": RAW,
                        "amount_due": 1200,
                        "currency": "usd",
                    },
                ),
                event(
                    "account.updated",
                    account="acct_leak1",
                    obj={
                        "id": "acct_leak1",
                        "object": "account",
                        "email": ACCOUNT_EMAIL,
                        "charges_enabled": False,
                        "business_profile": {"name": NAME, "support_email": EMAIL},
                        "capabilities": {},
                    },
                    data_previous={"charges_enabled": True},
                ),
                event(
                    "payout.failed",
                    obj={
                        "id": "po_leak1",
                        "object": "payout",
                        "amount": 500,
                        "currency": "eur",
                        "failure_code": "account_closed",
                        "description": RAW,
                    },
                ),
            ]
            for document in documents:
                previous = document.pop("data_previous", None)
                if previous is not None:
                    document["data"]["previous_attributes"] = previous
                assert (await post_event(client, runtime, document, secret=SIGNING_SECRET)).status_code == 200
            refused = await client.post(
                runtime.settings.webhook_path,
                content=json.dumps(customer(9)).encode(),
                headers={"Stripe-Signature": f"t=1,v1={SIGNING_SECRET}"},
            )
            assert refused.status_code == 400
            await runtime.drain()
            for _ in range(3):  # let the flaky handler's retries run out into a dead letter
                clock.advance(7 * 3600)
                await runtime.drain()
            await replay_matching(runtime, EventFilter(statuses=(EventStatus.DEAD,)), actor="operator:test")
            await runtime.drain()
            await prune_events(runtime, actor="operator:test")
            await switch(runtime, "billing", False, actor="operator:test")
            await switch(runtime, "billing", True, actor="operator:test")
            await stop_all(runtime, actor="operator:test")
            await start_all(runtime, actor="operator:test")
            await runtime.closers[0]()  # queue the ops webhook deliveries noted so far
            await runtime.drain(["remit_ops"])
            cron = await client.post("/api/cron/webhooks.prune", headers={"Authorization": f"Bearer {CRON_SECRET}"})
            assert cron.status_code == 202, cron.text
            wrong = await client.post("/api/cron/webhooks.prune", headers={"X-Cron-Secret": SERVICE_TOKEN})
            assert wrong.status_code == 401
            surfaces["cron answers"] = cron.text + wrong.text
            surfaces["metrics"] = (await client.get("/metrics")).text
            surfaces["health"] = (await client.get("/health")).text
            surfaces["api"] = (
                await client.get(
                    "/api/v1/billing/customers/cus_leak1", headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}
                )
            ).text
    finally:
        remove_sink()
        await runtime.close()
    surfaces["logs"] = logs.getvalue()
    surfaces["ops events"] = "\n".join(payloads)
    surfaces["ops webhook bodies"] = "\n".join(ops_receiver.bodies)
    surfaces["ops webhook headers"] = "\n".join(ops_receiver.headers)

    # the flow really ran: something to scan on every surface
    names = [json.loads(payload)["event"] for payload in payloads]
    for expected in (
        "webhook_dlq.dead_lettered",
        "webhook_dlq.replay",
        "webhook_dlq.prune",
        "billing_switched",
        "emergency_stop",
        "connect_capability_lost",
        "connect_payout_failed",
    ):
        assert expected in names, (expected, names)
    assert len(ops_receiver.bodies) == len(payloads)
    assert len(surfaces["logs"].splitlines()) > 10
    assert "remit_webhook_events" in surfaces["metrics"]
    assert "cus_leak1" in surfaces["api"]  # the API serves its data (emails of customers are the API's to give)

    secrets = [SIGNING_SECRET, SERVICE_TOKEN, OPS_SECRET, URL_TOKEN, API_KEY, CRON_SECRET]
    leaks = {
        surface: [value for value in (secrets if surface == "api" else [*PLANTED, *FRAGMENTS]) if value in text]
        for surface, text in surfaces.items()
    }
    assert {surface: found for surface, found in leaks.items() if found} == {}
