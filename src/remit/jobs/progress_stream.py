"""A job's progress as server-sent events: the one stream behind ``/api/v1/jobs/{id}/progress`` (service tokens)
and ``/admin/jobs/{id}/progress`` (an admin session), so both say the same thing in the same shape.

An ``event: progress`` carries :meth:`Progress.to_json` now and on every change (fed by
:meth:`Engine.follow`: LISTEN/NOTIFY on PostgreSQL, polling on SQLite); ``event: end`` with ``{"id", "state"}``
follows once the job finished, and the stream closes. A comment line every :data:`KEEPALIVE_SECONDS` keeps
proxies from closing a quiet stream. Only the job's id, name, queue, state, attempts and counts are sent —
never its arguments, which may carry customer data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from remit.jobs.progress import JobNotFound, Progress

if TYPE_CHECKING:
    from remit.jobs.engine import Engine

#: Seconds between keep-alive comments on a quiet progress stream.
KEEPALIVE_SECONDS = 15.0
#: The response headers of a progress stream: never cached, never buffered by a proxy (nginx).
STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One server-sent event (the JSON has no newline, so one ``data`` line)."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def progress_events(engine: Engine, job_id: int, *, keepalive: float = KEEPALIVE_SECONDS) -> AsyncIterator[bytes]:
    """The event stream of one job: its progress on every change, ``end`` once finished, keep-alives between."""
    queue: asyncio.Queue[Progress | None] = asyncio.Queue()

    async def produce() -> None:
        try:
            async for snapshot in engine.follow(job_id):
                await queue.put(snapshot)
        except JobNotFound:  # pruned while followed
            pass
        finally:
            await queue.put(None)

    producer = asyncio.create_task(produce())
    last: Progress | None = None
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), keepalive)
            except TimeoutError:
                yield b": keepalive\n\n"
                continue
            if item is None:
                break
            last = item
            yield sse("progress", item.to_json())
        yield sse("end", {"id": job_id, "state": last.state if last else None})
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producer


__all__ = ["KEEPALIVE_SECONDS", "STREAM_HEADERS", "progress_events", "sse"]
