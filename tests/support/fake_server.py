"""The fake's HTTP face served for real: remit's ASGI app on uvicorn, on a free loopback port.

The official SDK then talks to it over real HTTP (``StripeProcessor`` in the adapter, parity and billing
action tests, as a host's tests would); the fake behind it delivers its events to a :class:`CollectingDelivery`
the test can inspect (or to the ``delivery`` given), and :class:`Wire` records every request as the server got
it, so a test sees what the SDK really sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from remit.api.app import create_app
from remit.clock import Clock, FrozenClock
from remit.processor.fake import CollectingDelivery, FakeEngine, FakeProcessor
from remit.processor.fake.delivery import Delivery
from remit.runtime import Runtime
from tests.support.servers import serving


@dataclass
class Wire:
    """An ASGI wrapper that records each HTTP request's method, path and ``Idempotency-Key`` header as the
    server received it (and, in ``queries``, each request's query string, decoded)."""

    app: Any
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
            self.requests.append((scope["method"], scope["path"], headers.get("idempotency-key")))
            self.queries.append(unquote(scope.get("query_string", b"").decode("latin-1")))
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class ServedFake:
    root: str  # http://127.0.0.1:PORT — the whole app
    fake: FakeProcessor
    delivery: Delivery
    wire: Wire

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT/fake``: what ``STRIPE_API_BASE`` / the SDK's ``base_addresses`` take."""
        return f"{self.root}/fake"

    @property
    def collected(self) -> CollectingDelivery:
        assert isinstance(self.delivery, CollectingDelivery), "served with a delivery of the test's own"
        return self.delivery


@asynccontextmanager
async def serve_fake(
    runtime: Runtime,
    *,
    delivery: Delivery | None = None,
    clock: Clock | None = None,
    secret: str = "whsec_served",
) -> AsyncIterator[ServedFake]:
    """Serve ``runtime``'s app (the fake's HTTP face included) with a fake over ``runtime``'s database that
    delivers to ``delivery`` (default: a new :class:`CollectingDelivery`) on ``clock`` (default: frozen at now).
    ``runtime.processor`` is that fake while serving; the served fake stays this one if the test sets the
    runtime's processor to the adapter afterwards."""
    delivery = delivery if delivery is not None else CollectingDelivery()
    fake = FakeProcessor(
        FakeEngine(runtime.db, clock or FrozenClock(datetime.now(UTC)), delivery=delivery, secret=secret)
    )
    runtime.processor = fake
    app = create_app(runtime)
    app.state.fake_engine = fake.engine
    wire = Wire(app)
    async with serving(wire) as base:
        yield ServedFake(base, fake, delivery, wire)


__all__ = ["ServedFake", "Wire", "serve_fake"]
