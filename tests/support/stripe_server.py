"""The fake's ``/fake/v1`` served by uvicorn on a free loopback port, so the live adapter (the official SDK in
:class:`~remit.processor.stripe.StripeProcessor`) runs end to end against it — as ``test_stripe_adapter`` does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from remit.api.app import create_app
from remit.processor.fake import FakeEngine, FakeProcessor
from remit.processor.fake.delivery import Delivery
from remit.runtime import Runtime


@dataclass
class Wire:
    """An ASGI wrapper that records each request's method, path and ``Idempotency-Key`` as the server got it."""

    app: Any
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
            self.requests.append((scope["method"], scope["path"], headers.get("idempotency-key")))
        await self.app(scope, receive, send)


@dataclass
class Served:
    base: str
    fake: FakeProcessor
    wire: Wire

    @property
    def api_base(self) -> str:
        return f"{self.base}/fake"


@asynccontextmanager
async def serve_fake(runtime: Runtime, delivery: Delivery, *, secret: str = "whsec_adapter") -> AsyncIterator[Served]:
    """Serve ``runtime``'s app (the fake's HTTP face included) with a fake over ``runtime``'s database that
    delivers to ``delivery``; ``runtime.processor`` is that fake while serving (set it to the adapter after)."""
    fake = FakeProcessor(FakeEngine(runtime.db, runtime.clock, delivery=delivery, secret=secret))
    runtime.processor = fake
    app = create_app(runtime)
    app.state.fake_engine = fake.engine  # the served fake stays this one when the runtime's processor changes
    wire = Wire(app)
    server = uvicorn.Server(uvicorn.Config(wire, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Served(f"http://127.0.0.1:{port}", fake, wire)
    finally:
        server.should_exit = True
        await task


__all__ = ["Served", "Wire", "serve_fake"]
