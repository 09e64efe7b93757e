"""Helpers for the webhook tests: signed deliveries, a runtime on a frozen clock, an HTTP client on the app."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import stripe

from remit import webhooks
from remit.api.app import create_app
from remit.api.webhooks import close_writer
from remit.clock import FrozenClock
from remit.config import Settings
from remit.db.tables import jobs, webhook_events
from remit.db.tables.ledger import ledger_events
from remit.part import Part
from remit.parts import build_runtime
from remit.runtime import Runtime
from tests.support.fixtures import stripe_fixtures

SECRET = "whsec_test_primary_secret"
OLD_SECRET = "whsec_test_rotated_out_secret"
WEBHOOK_PATH = "/webhooks/stripe"


def webhook_settings(db_url: str, **extra: str) -> Settings:
    values = {"DATABASE_URL": db_url, "REMIT_ENV": "test", "STRIPE_WEBHOOK_SECRET": f"{SECRET},{OLD_SECRET}"}
    values.update(extra)
    return Settings.model_validate(values)


def make_runtime(settings: Settings, *, extra: Sequence[Part] = ()) -> Runtime:
    """A full runtime (remit's parts, then ``extra`` ones) on a frozen clock."""
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    return build_runtime(settings, clock=clock, extra=extra)


def dispatch_runtime(settings: Settings, *, extra: Sequence[Part] = ()) -> Runtime:
    """A runtime of the webhooks part alone (then ``extra`` ones) on a frozen clock: for tests of dispatch
    itself, whose counts of jobs run the other parts' work (an invoice's PDF, a receipt) would blur."""
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    return Runtime.from_settings(settings, parts=(webhooks.PART, *extra), clock=clock)


def event(
    event_type: str = "invoice.paid",
    *,
    event_id: str | None = None,
    created: int = 1_700_000_000,
    obj: Mapping[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A minimal Stripe-shaped event envelope."""
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": created,
        "livemode": False,
        "type": event_type,
        "data": {
            "object": dict(obj) if obj is not None else {"id": f"in_{uuid.uuid4().hex[:14]}", "object": "invoice"}
        },
        **extra,
    }


def sign(body: str, clock: Any, secret: str = SECRET, *, age: float = 0.0) -> str:
    timestamp = int(clock.now().timestamp() - age)
    return str(stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp))


def envelope_fixtures() -> list[Path]:
    """Every fixture file that holds a whole event envelope."""
    found = []
    for path in stripe_fixtures():
        try:
            document = json.loads(path.read_text())
        except ValueError:
            continue
        if isinstance(document, dict) and document.get("object") == "event" and "type" in document:
            found.append(path)
    return found


@asynccontextmanager
async def client_for(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://remit.test") as client:
            yield client
    finally:
        await close_writer(app)


async def post_event(
    client: httpx.AsyncClient,
    runtime: Runtime,
    document: Mapping[str, Any] | str,
    *,
    secret: str = SECRET,
    path: str = WEBHOOK_PATH,
    age: float = 0.0,
) -> httpx.Response:
    body = document if isinstance(document, str) else json.dumps(document)
    headers = {"Stripe-Signature": sign(body, runtime.clock, secret, age=age), "Content-Type": "application/json"}
    return await client.post(path, content=body.encode(), headers=headers)


async def count(runtime: Runtime, table: sa.Table, *where: Any) -> int:
    async with runtime.db.connect() as conn:
        stmt = sa.select(sa.func.count()).select_from(table).where(*where)
        return int((await conn.execute(stmt)).scalar_one())


async def counts(runtime: Runtime) -> tuple[int, int, int]:
    """(event rows, dispatch jobs, webhook.received ledger entries)."""
    return (
        await count(runtime, webhook_events),
        await count(runtime, jobs, jobs.c.name == "remit.webhooks.dispatch"),
        await count(runtime, ledger_events, ledger_events.c.type == "webhook.received"),
    )
