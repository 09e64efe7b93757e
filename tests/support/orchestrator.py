"""The stand-in orchestrator as a real HTTP server on a loopback port, in the test's event loop."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from remit.provisioning.orchestrator import TRIGGER_PATH, StandInOrchestrator
from tests.support.servers import serving

TRIGGER_SECRET = "prov_trigger_test_secret"
CALLBACK_SECRET = "prov_callback_test_secret"


@asynccontextmanager
async def serve(app: object) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 at a free port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    try:
        async with serving(app, sockets=[sock]) as base:
            yield base
    finally:
        sock.close()


@asynccontextmanager
async def orchestrator(
    callback_url: str | None = None, **options: object
) -> AsyncIterator[tuple[StandInOrchestrator, str]]:
    """A running stand-in; yields it and its trigger URL."""
    stand_in = StandInOrchestrator(TRIGGER_SECRET, callback_url, CALLBACK_SECRET, **options)  # type: ignore[arg-type]
    async with serve(stand_in.app) as base:
        yield stand_in, base + TRIGGER_PATH
