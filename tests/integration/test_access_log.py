"""``--access-log`` over a real uvicorn server: one line per request, with no query value in it."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from remit.config import Settings
from remit.parts import build_runtime
from remit.service import Endpoints, build_server
from remit.telemetry.logging import configure_logging, without_query_values
from tests.support.logs import configured_logging_restored

TOKEN = "Zq8vN2xK7pL4mR9tW1yB6cF3hJ5dS0gA"
EMAIL = "ada.lovelace@example.com"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    with configured_logging_restored():
        configure_logging(Settings.model_validate({"REMIT_LOG_LEVEL": "INFO"}), stream=stream)
        yield stream


async def test_query_values_never_reach_the_access_log(db_url: str, log_stream: io.StringIO) -> None:
    settings = Settings.model_validate({"DATABASE_URL": db_url, "REMIT_ENV": "test", "REMIT_SERVICE_TOKENS": TOKEN})
    runtime = build_runtime(settings)
    listening: asyncio.Future[Endpoints] = asyncio.get_running_loop().create_future()
    server = build_server(runtime, "127.0.0.1", 0, access_log=True, on_started=listening.set_result)
    serving = asyncio.create_task(server.serve())
    try:
        base = (await asyncio.wait_for(listening, 10)).base_url
        async with httpx.AsyncClient(base_url=base) as client:
            listed = await client.get(f"/api/v1/billing/customers?access_token={TOKEN}&limit=5")
            filtered = await client.get(
                "/api/v1/billing/webhook-events", params={"type": EMAIL}, headers={"Authorization": f"Bearer {TOKEN}"}
            )
            bare = await client.get(f"/health?{TOKEN}")
        assert (listed.status_code, filtered.status_code, bare.status_code) == (401, 200, 200)
    finally:
        server.should_exit = True
        await serving
        await runtime.close()
    access = [json.loads(line) for line in log_stream.getvalue().splitlines() if '"uvicorn.access"' in line]
    events = [line["event"] for line in access]
    assert len(events) == 3, events
    assert '"GET /api/v1/billing/customers?access_token=[redacted]&limit=[redacted] HTTP/1.1" 401' in events[0]
    assert "/api/v1/billing/webhook-events?type=[redacted] " in events[1]
    assert "/health?[redacted] " in events[2]
    # Every line but the test client's own (httpx logs the URLs this test asked for, not what remit served).
    everything = "\n".join(line for line in log_stream.getvalue().splitlines() if '"logger": "httpx"' not in line)
    assert TOKEN not in everything
    assert EMAIL not in everything
    assert "ada.lovelace" not in everything


async def test_each_server_keeps_its_own_access_log_choice(db_url: str, log_stream: io.StringIO) -> None:
    """A host serving two runtimes in one process, the first built without the access log and the second with
    it: each request is logged exactly when its own server asked for it (uvicorn's own switch is the process's
    ``uvicorn.access`` logger, which the first server turned off for both)."""
    settings = Settings.model_validate({"DATABASE_URL": db_url, "REMIT_ENV": "test"})
    runtimes = {name: build_runtime(settings) for name in ("quiet", "logged")}
    loop = asyncio.get_running_loop()
    listening: dict[str, asyncio.Future[Endpoints]] = {name: loop.create_future() for name in runtimes}
    servers = {
        name: build_server(runtime, "127.0.0.1", 0, access_log=name == "logged", on_started=listening[name].set_result)
        for name, runtime in runtimes.items()
    }
    serving = [asyncio.create_task(server.serve()) for server in servers.values()]
    try:
        for name in runtimes:
            base = (await asyncio.wait_for(listening[name], 10)).base_url
            async with httpx.AsyncClient(base_url=base) as client:
                assert (await client.get(f"/health?{name}_server=1")).status_code == 200
    finally:
        for server in servers.values():
            server.should_exit = True
        await asyncio.gather(*serving)
        for runtime in runtimes.values():
            await runtime.close()
    access = [json.loads(line)["event"] for line in log_stream.getvalue().splitlines() if '"uvicorn.access"' in line]
    assert len(access) == 1, access
    assert '"GET /health?logged_server=[redacted] HTTP/1.1" 200' in access[0]
    assert "quiet_server" not in log_stream.getvalue()


HOST_PROCESS = """
import asyncio, logging, sys
import httpx
from remit.config import Settings
from remit.parts import build_runtime
from remit.service import build_server

async def main() -> None:
    # A host's own logging, not remit's configure_logging: every uvicorn line goes to stdout as it is.
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(name)s %(message)s")
    runtime = build_runtime(Settings.model_validate({"DATABASE_URL": sys.argv[1], "REMIT_ENV": "test"}))
    listening = asyncio.get_running_loop().create_future()
    server = build_server(runtime, "127.0.0.1", 0, access_log=True, on_started=listening.set_result)
    serving = asyncio.create_task(server.serve())
    base = (await asyncio.wait_for(listening, 10)).base_url
    async with httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/health?access_token=" + sys.argv[2])).status_code == 200
    server.should_exit = True
    await serving
    await runtime.close()

asyncio.run(main())
"""


def test_a_host_that_configures_logging_itself_gets_no_query_values(db_url: str) -> None:
    """A host serving remit with ``build_server(access_log=True)`` under its own logging (configure_logging never
    called, as in a host's process): the access line still masks the query's values."""
    ran = subprocess.run(
        [sys.executable, "-c", HOST_PROCESS, db_url, TOKEN], capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    access = [line for line in ran.stdout.splitlines() if line.startswith("uvicorn.access ")]
    assert len(access) == 1, ran.stdout
    assert '"GET /health?access_token=[redacted] HTTP/1.1" 200' in access[0]
    assert TOKEN not in "\n".join(line for line in ran.stdout.splitlines() if not line.startswith("httpx "))


@pytest.mark.parametrize(
    ("target", "logged"),
    [
        ("/health", "/health"),
        ("/a?x=1", "/a?x=[redacted]"),
        ("/a?x=1&y=&z", "/a?x=[redacted]&y=[redacted]&[redacted]"),
        ("/a?&&x=1", "/a?x=[redacted]"),
        ("/a?sk_live_abc=1", "/a?sk_live_abc=[redacted]"),
        ("/a?bad name=1", "/a?[redacted]"),
        ("/a?", "/a?"),
    ],
)
def test_without_query_values(target: str, logged: str) -> None:
    assert without_query_values(target) == logged
