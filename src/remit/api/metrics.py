"""``GET /metrics`` (Prometheus text of :data:`remit.telemetry.metrics.REGISTRY`) and HTTP request timing.

Gauges that describe the database (queue depth, the age of the oldest job) are refreshed by the scrape-time
collectors of :mod:`remit.telemetry.collectors`, run in the background by the runtime's
:class:`~remit.telemetry.refresher.Refresher` while scrapes come; this module asks it for a recent enough
collection and serves the registry.

The request histogram is labelled by the route *template* (``/api/v1/billing/customers/{id}``), never the
raw path, and by status class, so its label sets stay small and ids never become labels.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from remit.api.schemas import COMMON_ERRORS, error
from remit.runtime import Runtime
from remit.telemetry.metrics import REGISTRY

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

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The Prometheus text exposition format.",
            "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
        },
        **{status: body for status, body in COMMON_ERRORS.items() if status != 400},
        403: error("The origin guard refused a request that did not come through the trusted proxy."),
    },
)
async def metrics(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    await runtime.metrics_refresher.fresh()
    # Rendered on the loop, not in a thread: a background collection sets a gauge's series between awaits, so
    # rendering here never sees a family half-replaced (the webhook gauges clear and refill theirs).
    payload = generate_latest(REGISTRY)
    return Response(content=payload, media_type=CONTENT_TYPE_LATEST)


def status_class(status_code: int) -> str:
    return f"{status_code // 100}xx"


#: The attribute :func:`labelled` puts on the endpoint of a plain Starlette route.
TEMPLATE_ATTRIBUTE = "remit_route_template"

E = TypeVar("E", bound=Callable[..., Any])


def labelled(template: str, endpoint: E) -> E:
    """Mark ``endpoint`` of a plain Starlette route with its ``template`` for the request histogram.

    FastAPI's routes put themselves in the request scope; a plain route (the webhook endpoints are plain
    routes: FastAPI's request handling would cost them a third of their time) leaves only its endpoint
    there, and FastAPI rebuilds included plain routes, so the endpoint is what carries the template."""
    setattr(endpoint, TEMPLATE_ATTRIBUTE, template)
    return endpoint


def route_template(scope: Scope) -> str:
    """The template of the route that handled ``scope``, or :data:`UNMATCHED_ROUTE`."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    template = getattr(scope.get("endpoint"), TEMPLATE_ATTRIBUTE, None)
    if isinstance(template, str) and template:
        return template
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
    "TEMPLATE_ATTRIBUTE",
    "RequestMetricsMiddleware",
    "http_request_duration_seconds",
    "labelled",
    "route_template",
    "router",
]
