"""The trigger's keep-alive connections against a raw HTTP/1.1 server on loopback: a run's POSTs reuse at most
``REMIT_PROVISIONING_TRIGGER_CONCURRENCY`` connections and the next run finds them warm; an orchestrator that
answers ``Connection: close`` or drops idle connections between runs costs new connections, never an outcome;
a refused connection is ``fetch_error``; every POST is the payload's canonical bytes, signed, with its Host."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from remit.provisioning.trigger import FETCH_ERROR, HTTP_5XX, SIGNATURE_HEADER, body_of, send_triggers
from remit.runtime import Runtime
from remit.signing import hex_signature
from tests.support.orchestrator import TRIGGER_SECRET
from tests.support.webhooks import make_runtime, webhook_settings


@dataclass
class RawServer:
    """Answers every POST with ``status``; ``close`` adds ``Connection: close`` and hangs up after the answer."""

    status: int = 202
    close: bool = False
    port: int = 0
    connections: int = 0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("ascii").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if line)}
                body = await reader.readexactly(int(headers["content-length"]))
                self.received.append((headers, body))
                extra = b"Connection: close\r\n" if self.close else b""
                writer.write(b"HTTP/1.1 %d X\r\nContent-Length: 2\r\n%b\r\n{}" % (self.status, extra))
                await writer.drain()
                if self.close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def drop_idle(self) -> None:
        """Hang up every connection (as an orchestrator does with idle keep-alive connections)."""
        for writer in self.writers:
            writer.close()
        self.writers.clear()
        await asyncio.sleep(0.05)


@asynccontextmanager
async def raw_server(**options: Any) -> AsyncIterator[RawServer]:
    state = RawServer(**options)
    server = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        await state.drop_idle()


def _runtime(db_url: str, port: int, concurrency: int = 3) -> Runtime:
    return make_runtime(
        webhook_settings(
            db_url,
            PROVISIONING_TRIGGER_URL=f"http://127.0.0.1:{port}/trigger/onboarding",
            PROVISIONING_TRIGGER_SECRET=TRIGGER_SECRET,
            REMIT_PROVISIONING_TRIGGER_CONCURRENCY=str(concurrency),
        )
    )


def _payloads(count: int) -> list[dict[str, Any]]:
    return [{"stripe_session_id": f"cs_conn_{i}", "account_id": f"acct_{i}", "tokens_quota": i} for i in range(count)]


async def test_runs_reuse_at_most_the_bound_of_connections_and_send_signed_canonical_bodies(db_url: str) -> None:
    async with raw_server() as server:
        runtime = _runtime(db_url, server.port)
        try:
            payloads = _payloads(8)
            assert await send_triggers(runtime, payloads) == [None] * 8
            assert await send_triggers(runtime, payloads) == [None] * 8
        finally:
            await runtime.close()
    assert server.connections == 3  # three lanes, their connections kept warm for the second run
    assert len(server.received) == 16
    for headers, body in server.received:
        assert headers["host"] == f"127.0.0.1:{server.port}"
        assert headers["content-type"] == "application/json"
        assert headers[SIGNATURE_HEADER.lower()] == hex_signature(body, TRIGGER_SECRET)
    sent = sorted(body for _, body in server.received[:8])
    assert sent == sorted(body_of(p) for p in payloads)
    assert json.loads(sent[0]) in payloads


async def test_connection_close_answers_and_idle_drops_cost_connections_not_outcomes(db_url: str) -> None:
    async with raw_server(close=True) as server:
        runtime = _runtime(db_url, server.port)
        try:
            assert await send_triggers(runtime, _payloads(7)) == [None] * 7
        finally:
            await runtime.close()
    assert server.connections == 7  # one per POST: each answer closed its connection
    async with raw_server() as server:
        runtime = _runtime(db_url, server.port)
        try:
            assert await send_triggers(runtime, _payloads(5)) == [None] * 5
            await server.drop_idle()  # the warm connections die while the runtime holds them idle
            assert await send_triggers(runtime, _payloads(5)) == [None] * 5
        finally:
            await runtime.close()
    assert server.connections == 6
    assert len(server.received) == 10


async def test_refused_connections_are_fetch_errors_and_5xx_answers_are_named(db_url: str) -> None:
    async with raw_server() as server:
        port = server.port
    runtime = _runtime(db_url, port)  # nothing listens there any more
    try:
        assert await send_triggers(runtime, _payloads(4)) == [FETCH_ERROR] * 4
    finally:
        await runtime.close()
    async with raw_server(status=503) as server:
        runtime = _runtime(db_url, server.port)
        try:
            assert await send_triggers(runtime, _payloads(4)) == [HTTP_5XX] * 4
        finally:
            await runtime.close()
