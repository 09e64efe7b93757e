"""``GET /metrics`` (Prometheus text of :data:`remit.telemetry.metrics.REGISTRY`) and HTTP request timing.

Gauges that describe the database (queue depth, the age of the oldest job) need an async query; a part that
owns such a gauge registers a scrape hook with :func:`add_scrape_hook`, which runs before each scrape on the
service's loop. A failing hook is logged and skipped, so one broken gauge never hides every other metric.

The request histogram is labelled by the route *template* (``/api/v1/billing/customers/{id}``), never the
raw path, and by status class, so its label sets stay small and ids never become labels.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from remit.runtime import Runtime
from remit.telemetry.metrics import REGISTRY

log = logging.getLogger("remit.api.metrics")

HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

http_request_duration_seconds = Histogram(
    "remit_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status class (2xx, 4xx, ...).",
    ["method", "route", "status"],
    buckets=HTTP_BUCKETS,
    registry=REGISTRY,
)

#: The route label of requests that matched no route (404s of scanners must not grow the label set).
UNMATCHED_ROUTE = "unmatched"
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

#: A hook that takes longer (a database that stopped answering) is skipped for this scrape.
SCRAPE_HOOK_TIMEOUT_S = 2.0

ScrapeHook = Callable[[Runtime], Awaitable[None]]
_scrape_hooks: list[ScrapeHook] = []

router = APIRouter(tags=["metrics"])


def add_scrape_hook(hook: ScrapeHook) -> Callable[[], None]:
    """Run ``await hook(runtime)`` before every scrape (to refresh database gauges); returns a remover."""
    _scrape_hooks.append(hook)
    return lambda: _scrape_hooks.remove(hook)


async def run_scrape_hooks(runtime: Runtime) -> None:
    for hook in list(_scrape_hooks):
        try:
            await asyncio.wait_for(hook(runtime), timeout=SCRAPE_HOOK_TIMEOUT_S)
        except Exception as exc:  # one broken gauge must not fail the whole scrape
            log.warning(
                "metrics scrape hook failed",
                extra={"hook": getattr(hook, "__qualname__", "?"), "error_type": type(exc).__name__},
            )


async def refresh_job_gauges(runtime: Runtime) -> None:
    """The job engine's database gauges: depth by state, oldest due job, paused flags, live workers."""
    from remit.jobs import admin

    configured = {spec.name: spec.concurrency for spec in runtime.settings.queues.values()}
    await admin.refresh_metrics(runtime.db, runtime.clock.now(), runtime.settings.job_lease_seconds, configured)


add_scrape_hook(refresh_job_gauges)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    await run_scrape_hooks(request.app.state.runtime)
    payload = await run_in_threadpool(generate_latest, REGISTRY)
    return Response(content=payload, media_type=CONTENT_TYPE_LATEST)


def status_class(status_code: int) -> str:
    return f"{status_code // 100}xx"


def route_template(scope: Scope) -> str:
    """The template of the route that handled ``scope``, or :data:`UNMATCHED_ROUTE`."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    return UNMATCHED_ROUTE


class RequestMetricsMiddleware:
    """Pure ASGI middleware timing every HTTP request into ``remit_http_request_duration_seconds``.

    Pure ASGI (not ``BaseHTTPMiddleware``) so it adds no task or body buffering to the webhook hot path.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            method = scope.get("method", "GET")
            http_request_duration_seconds.labels(
                method=method if method in _KNOWN_METHODS else "OTHER",
                route=route_template(scope),
                status=status_class(status_code),
            ).observe(time.perf_counter() - started)


__all__ = [
    "RequestMetricsMiddleware",
    "add_scrape_hook",
    "http_request_duration_seconds",
    "refresh_job_gauges",
    "route_template",
    "router",
    "run_scrape_hooks",
]
