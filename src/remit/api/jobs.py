"""``/api/v1/jobs/{id}``: a job's state and progress, once or live (server-sent events), behind service tokens.

``GET /api/v1/jobs/{id}`` answers one :class:`~remit.api.schemas.JobProgress`. ``GET /api/v1/jobs/{id}/progress``
streams ``text/event-stream``: an ``event: progress`` with the same JSON now and on every change (a
``ctx.progress(done, total)``, a state change, a retry), then ``event: end`` once the job finished, and the
stream closes; a comment line every :data:`KEEPALIVE_SECONDS` keeps proxies from closing a quiet stream. It is
fed by LISTEN/NOTIFY on PostgreSQL and by polling on SQLite (:mod:`remit.jobs.progress`). Only the job's id,
name, queue, state, attempts and counts are shown — never its arguments, which may carry customer data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from remit.api.auth import SERVICE_DEPENDENCIES, ApiError, ServiceRoute
from remit.api.schemas import SERVICE_ERRORS, JobProgress, error
from remit.jobs.progress import JobNotFound, Progress
from remit.runtime import Runtime

PREFIX = "/api/v1/jobs"
#: Seconds between keep-alive comments on a quiet progress stream.
KEEPALIVE_SECONDS = 15.0
#: The largest job id the routes look up (ids are 64-bit; a larger one is a 404 without a query).
MAX_JOB_ID = 2**63 - 1

#: One server-sent event of the progress stream (``data`` is a JobProgress, or ``{"id", "state"}`` for ``end``,
#: as JSON text).
EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["progress", "end"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
    },
}

router = APIRouter(prefix=PREFIX, tags=["jobs"], route_class=ServiceRoute, dependencies=SERVICE_DEPENDENCIES)

JOB_ERRORS: dict[int | str, dict[str, Any]] = {**SERVICE_ERRORS, 404: error("No job has this id (`resource_missing`).")}


def _missing() -> ApiError:
    return ApiError(404, "resource_missing", "No such job", param="id")


async def _snapshot(runtime: Runtime, job_id: int) -> Progress:
    job = await runtime.engine.get(job_id) if 0 < job_id <= MAX_JOB_ID else None
    if job is None:
        raise _missing()
    return Progress.of(job)


@router.get("/{job_id}", response_model=JobProgress, responses=JOB_ERRORS)
async def job_progress(request: Request, job_id: int) -> dict[str, Any]:
    """A job's state and the progress its run last reported."""
    return (await _snapshot(request.app.state.runtime, job_id)).to_json()


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One server-sent event (the JSON has no newline, so one ``data`` line)."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def progress_events(
    runtime: Runtime, job_id: int, *, keepalive: float = KEEPALIVE_SECONDS
) -> AsyncIterator[bytes]:
    """The event stream of one job: its progress on every change, ``end`` once finished, keep-alives between."""
    queue: asyncio.Queue[Progress | None] = asyncio.Queue()

    async def produce() -> None:
        try:
            async for snapshot in runtime.engine.follow(job_id):
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


@router.get(
    "/{job_id}/progress",
    response_class=StreamingResponse,
    responses={
        **JOB_ERRORS,
        200: {
            "description": "Server-sent events: `progress` (a JobProgress as JSON) on every change, then `end`.",
            "content": {"text/event-stream": {"schema": EVENT_SCHEMA}},
        },
    },
)
async def follow_job(request: Request, job_id: int) -> StreamingResponse:
    """Follow a job live until it finishes (server-sent events)."""
    runtime: Runtime = request.app.state.runtime
    await _snapshot(runtime, job_id)  # a 404 now, before the stream starts
    return StreamingResponse(
        progress_events(runtime, job_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


__all__ = ["KEEPALIVE_SECONDS", "PREFIX", "progress_events", "router", "sse"]
