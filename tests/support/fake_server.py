"""The fake's HTTP face served for real: remit's ASGI app on uvicorn, on a free loopback port.

The official SDK then talks to it over real HTTP, as a host's tests would; the fake behind it delivers its
events to a :class:`CollectingDelivery` the test can inspect.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import uvicorn

from remit.api.app import create_app
from remit.clock import FrozenClock
from remit.processor.fake import CollectingDelivery, FakeEngine, FakeProcessor
from remit.runtime import Runtime


@dataclass(frozen=True)
class ServedFake:
    base: str  # e.g. http://127.0.0.1:PORT/fake — what STRIPE_API_BASE / base_addresses take
    fake: FakeProcessor
    collected: CollectingDelivery


@asynccontextmanager
async def serve_fake(runtime: Runtime, *, secret: str = "whsec_served") -> AsyncIterator[ServedFake]:
    collected = CollectingDelivery()
    fake = FakeProcessor(FakeEngine(runtime.db, FrozenClock(datetime.now(UTC)), delivery=collected, secret=secret))
    runtime.processor = fake
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime), host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield ServedFake(f"http://127.0.0.1:{port}/fake", fake, collected)
    finally:
        server.should_exit = True
        await task
