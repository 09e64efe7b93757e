"""``/api/v1/jobs/{id}``: a job's state and progress, once or live (server-sent events), behind service tokens.

``GET /api/v1/jobs/{id}`` answers one :class:`~remit.api.schemas.JobProgress`. ``GET /api/v1/jobs/{id}/progress``
streams ``text/event-stream``: an ``event: progress`` with the same JSON now and on every change (a
``ctx.progress(done, total)``, a state change, a retry), then ``event: end`` once the job finished, and the
stream closes; a comment line every :data:`KEEPALIVE_SECONDS` keeps proxies from closing a quiet stream. The
stream itself is :mod:`remit.jobs.progress_stream`, shared with the admin page. Only the job's id,
name, queue, state, attempts and counts are shown — never its arguments, which may carry customer data.

The id takes plain ASCII digits only, as ``limit`` does (:func:`~remit.api.billing.plain_integer`): anything
else (``+1``, `` 1``, ``1_0``, digits of other scripts, a NUL) is a 400 ``parameter_invalid_integer``, never
read as some other job's id.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from remit.api.auth import SERVICE_DEPENDENCIES, ApiError, ServiceRoute
from remit.api.billing import plain_integer
from remit.api.schemas import SERVICE_ERRORS, JobProgress, error
from remit.jobs.progress import Progress
from remit.jobs.progress_stream import KEEPALIVE_SECONDS, STREAM_HEADERS, progress_events, sse
from remit.runtime import Runtime

PREFIX = "/api/v1/jobs"
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

#: Digits of the largest job id.
MAX_JOB_ID_DIGITS = len(str(MAX_JOB_ID))


async def plain_job_id(request: Request) -> None:
    """FastAPI dependency (after the token's): a 400 unless the path's job id is plain ASCII digits (FastAPI's
    ``int`` would also read ``+1``, `` 1`` and ``1_0``)."""
    if plain_integer(str(request.path_params.get("job_id", "")), max_digits=MAX_JOB_ID_DIGITS) is None:
        raise ApiError(400, "parameter_invalid_integer", "id must be a job id in plain ASCII digits", param="id")


router = APIRouter(
    prefix=PREFIX,
    tags=["jobs"],
    route_class=ServiceRoute,
    dependencies=[*SERVICE_DEPENDENCIES, Depends(plain_job_id)],
)

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
        progress_events(runtime.engine, job_id), media_type="text/event-stream", headers=STREAM_HEADERS
    )


__all__ = ["KEEPALIVE_SECONDS", "PREFIX", "progress_events", "router", "sse"]
