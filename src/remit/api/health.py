"""``GET /health``: can this process do its work, and is anything stopped on purpose?

The checks and their levels live in :mod:`remit.control.health`; this route serves the report of the app's
:class:`~remit.control.health.HealthCache`, recomputed in the background once per
``REMIT_HEALTH_CACHE_SECONDS`` while polled. 200 for ``ok`` and ``degraded`` (with the reasons), 503 for ``down``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from remit import __version__
from remit.api.schemas import HealthBody, error
from remit.control.health import HealthCache
from remit.runtime import Runtime

router = APIRouter(tags=["health"])


def health_cache(request: Request) -> HealthCache:
    """The app's health cache, made on first use (one per app, so one per process)."""
    cache: HealthCache | None = getattr(request.app.state, "health_cache", None)
    if cache is None:
        runtime: Runtime = request.app.state.runtime
        cache = HealthCache(runtime, ttl=runtime.settings.health_cache_seconds, version=__version__)
        request.app.state.health_cache = cache
    return cache


@router.get(
    "/health",
    summary="Liveness, database, schema, workers, paused queues, billing flag, emergency stop",
    responses={
        200: {"model": HealthBody, "description": "ok or degraded (with the reasons)."},
        503: {"model": HealthBody, "description": "down: a check this process needs failed."},
        403: error("The origin guard refused the request (only when /health is not in REMIT_ORIGIN_EXEMPT)."),
    },
)
async def health(request: Request) -> JSONResponse:
    cache = health_cache(request)
    report = await cache.report()
    return JSONResponse(
        report.to_json(now=cache.runtime.clock.now()),
        status_code=report.status_code,
        headers={"Cache-Control": "no-store"},
    )
