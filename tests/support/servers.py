"""A test's own HTTP server on a loopback port (a stand-in receiver, the fake's HTTP face, the app under fuzz).

uvicorn built with its defaults configures the process's logging (its ``dictConfig``, ``log_level`` on its
loggers, ``access_log=False`` turning off ``uvicorn.access`` for everyone) and never puts it back: one stand-in
built that way left a later test's access log empty. A :class:`StandInServer` touches none of it and writes no
access lines (a stand-in's paths can carry a planted token, and its requests are not remit's to log); its
start-up and errors go wherever the process's logging sends uvicorn's.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from remit.telemetry.logging import server_access_log


class StandInServer(uvicorn.Server):
    """uvicorn on ``host``:``port`` (0: a free port) without its lifespan, its logging setup or access lines."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="off"))

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        with server_access_log(False):
            await super().serve(sockets=sockets)

    @property
    def port(self) -> int:
        """The port it listens on (once started)."""
        return int(self.servers[0].sockets[0].getsockname()[1])


@asynccontextmanager
async def serving(app: Any, *, sockets: list[socket.socket] | None = None) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port (or on ``sockets``) in this event loop; yields its base URL."""
    server = StandInServer(app)
    task = asyncio.create_task(server.serve(sockets=sockets))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.should_exit = True
        await task


__all__ = ["StandInServer", "serving"]
