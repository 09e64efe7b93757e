"""``POST /webhooks/stripe`` (and any extra endpoint): the HTTP face of :mod:`remit.webhooks.ingest`.

Answers, each with a JSON body ``{"error": {"type": …, "code": …, "message": …}}`` on refusal (the API's one
error shape):

- 200 ``{"received": true, "duplicate": false, "id": …}`` once the event, its job and its ledger entry have
  committed; 200 with ``"duplicate": true`` for an event already stored (nothing new is written);
- 400 ``signature_missing`` / ``signature_malformed`` / ``signature_invalid`` / ``signature_expired``,
  ``invalid_json``, ``not_an_event`` — nothing is stored;
- 413 ``payload_too_large`` — by ``Content-Length`` before reading, or while counting the bytes read;
- 503 ``database_unavailable`` — so the processor retries later; never a 2xx without a durable row;
- 500 ``internal_error`` — anything else that went wrong; nothing is known to be stored, the processor retries.

Neither the body nor a secret is ever logged: refusals log the endpoint name and the code only, and an
unexpected error logs its type and where it was raised, never its message or traceback text — a database
driver's error message carries the statement's parameters, and one of them is the raw body.

The router's lifespan (run by uvicorn) releases events held while billing was off, and closes the
PostgreSQL writer's pool on shutdown; the writer itself is made on first use, so the routes also work under
an ASGI client that runs no lifespan (tests call :func:`close_writer`).
"""

from __future__ import annotations

import gc
import logging
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import JSONResponse, Response

import remit
from remit.api.metrics import labelled
from remit.api.schemas import WebhookReceived, error
from remit.config import Settings
from remit.db.engine import is_unavailable_error
from remit.errors import WebhookError
from remit.runtime import Runtime
from remit.webhooks.dispatch import dispatch_event
from remit.webhooks.endpoints import Endpoint, resolve_endpoints
from remit.webhooks.events import EventStatus
from remit.webhooks.held import release_held
from remit.webhooks.ingest import receive
from remit.webhooks.writers import EventWriter, writer_for

log = logging.getLogger("remit.api.webhooks")

SIGNATURE_HEADER = "stripe-signature"
RETRY_AFTER_SECONDS = "5"

REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": "The event exactly as the processor signed it (at most REMIT_WEBHOOK_MAX_BODY_BYTES).",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["id", "object", "type", "created", "data"],
                "properties": {
                    "id": {"type": "string"},
                    "object": {"const": "event"},
                    "type": {"type": "string"},
                    "created": {"type": "integer"},
                    "livemode": {"type": "boolean"},
                    "data": {"type": "object", "required": ["object"]},
                },
            }
        }
    },
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": WebhookReceived, "description": "Stored (or already stored: `duplicate` is true)."},
    400: error("Bad signature, invalid JSON or not an event; nothing stored."),
    403: error("The origin guard refused a request that did not come through the trusted proxy."),
    413: error("Body larger than REMIT_WEBHOOK_MAX_BODY_BYTES."),
    500: error("Not stored because of an unexpected error; retry later."),
    503: error("Database unavailable; retry later."),
}


def error_response(status_code: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """The API's one error shape (see :mod:`remit.api.errors`): ``invalid_request_error`` for what the sender
    must change, ``api_error`` for what a retry may fix."""
    kind = "api_error" if status_code >= 500 else "invalid_request_error"
    return JSONResponse(
        {"error": {"type": kind, "code": code, "message": message}},
        status_code=status_code,
        headers=dict(headers or {}),
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with ``payload_too_large`` (413) as soon as it is known to exceed ``limit``:
    from ``Content-Length`` before reading anything, else while counting what arrives."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise WebhookError("payload_too_large", f"the body exceeds {limit} bytes", status_code=413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise WebhookError("payload_too_large", f"the body exceeds {limit} bytes", status_code=413)
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


#: remit's own package folder. A frame is remit's code when its file is inside it, not when its path merely
#: contains ``/remit/``: a clone named ``remit`` holds its ``.venv`` (and the host's code) under that name too.
PACKAGE_DIR = Path(remit.__file__).resolve().parent


def raised_at(exc: BaseException) -> str:
    """Where ``exc`` came from, as ``file:line in function`` — the deepest frame in remit's own package, else
    the deepest — enough to find the bug, without the exception's message (which, for a database error,
    quotes the statement's parameters: the raw body among them)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [frame for frame in frames if Path(frame.filename).resolve().is_relative_to(PACKAGE_DIR)]
    if not frames:
        return "unknown"
    frame = (ours or frames)[-1]
    return f"{frame.filename}:{frame.lineno} in {frame.name}"


def writer_of(app: Any, runtime: Runtime) -> EventWriter:
    """The app's event writer, made on first use (one per app, so one pool per process)."""
    writer: EventWriter | None = getattr(app.state, "webhook_writer", None)
    if writer is None:
        writer = writer_for(runtime)
        app.state.webhook_writer = writer
    return writer


async def close_writer(app: Any) -> None:
    """Close the app's event writer (its connection pool), if one was made."""
    writer: EventWriter | None = getattr(app.state, "webhook_writer", None)
    if writer is not None:
        app.state.webhook_writer = None
        await writer.close()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Release held events at start (when billing is on); close the writer at shutdown.

    At start it also freezes the garbage collector's view of everything imported so far: deliveries waiting
    on a batch commit outlive the young generations, so under load full collections run every second or so,
    and each walked the million objects the imports left behind (about 100 ms, stalling every request in
    flight). Frozen, those objects are never scanned again.
    """
    gc.collect()
    gc.freeze()
    runtime: Runtime | None = getattr(app.state, "runtime", None)
    if runtime is not None:
        try:
            await release_held(runtime)
        except Exception as exc:  # a database still starting must not stop the service from serving
            log.warning("could not release held webhook events at start", extra={"error_type": type(exc).__name__})
    try:
        yield
    finally:
        await close_writer(app)


def endpoint_handler(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    """The route function of one webhook endpoint."""

    async def receive_webhook(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        try:
            body = await read_body(request, runtime.settings.webhook_max_body_bytes)
            result = await receive(
                runtime, endpoint, body, request.headers.get(SIGNATURE_HEADER), writer=writer_of(request.app, runtime)
            )
        except WebhookError as exc:
            log.info("webhook refused", extra={"endpoint": endpoint.name, "code": exc.code})
            return error_response(exc.status_code, exc.code, str(exc))
        except Exception as exc:
            if not is_unavailable_error(exc):
                log.error(
                    "webhook not stored: unexpected error",
                    extra={"endpoint": endpoint.name, "error_type": type(exc).__name__, "where": raised_at(exc)},
                )
                return error_response(500, "internal_error", "the event was not stored; retry later")
            log.warning(
                "webhook not stored: database unavailable",
                extra={"endpoint": endpoint.name, "error_type": type(exc).__name__},
            )
            return error_response(
                503,
                "database_unavailable",
                "the database is unavailable; retry later",
                {"Retry-After": RETRY_AFTER_SECONDS},
            )
        if result.status is EventStatus.RECEIVED and not result.duplicate:
            runtime.wake_workers(runtime.engine.queue_name(dispatch_event.queue))  # committed: it can run now
        return JSONResponse(result.to_json())

    receive_webhook.__name__ = f"receive_webhook_{endpoint.name}"
    return labelled(endpoint.path, receive_webhook)  # timed under its route template, not "unmatched"


def build_router(settings: Settings, environ: Mapping[str, str] | None = None) -> APIRouter:
    """One ``POST`` route per configured webhook endpoint.

    Each endpoint is served by a plain Starlette route, ahead of a FastAPI route that only documents it in the
    OpenAPI schema (it is never reached: the plain route matches first). The handler takes the raw request
    and builds its own response, so FastAPI's per-request dependency resolution and response handling would
    do nothing but cost about 65 µs of CPU per delivery — a third of the endpoint's own time.
    """
    router = APIRouter(tags=["webhooks"], lifespan=lifespan)
    for endpoint in resolve_endpoints(settings, environ):
        handler = endpoint_handler(endpoint)
        router.add_route(
            endpoint.path, handler, methods=["POST"], name=f"webhook_{endpoint.name}", include_in_schema=False
        )
        router.add_api_route(
            endpoint.path,
            handler,
            methods=["POST"],
            name=f"webhook_{endpoint.name}_documented",
            summary=f"Receive processor webhooks ({endpoint.name} endpoint)",
            description="Stripe-signed event deliveries (`Stripe-Signature` header, raw JSON body).",
            responses=RESPONSES,
            response_model=None,
            openapi_extra={"requestBody": REQUEST_BODY},
        )
    return router


__all__ = [
    "build_router",
    "close_writer",
    "endpoint_handler",
    "error_response",
    "lifespan",
    "raised_at",
    "read_body",
    "writer_of",
]
