"""Every error the HTTP API answers has one shape: ``{"error": {"type", "code", "message"[, "param"]}}``.

The internal API raises :class:`~remit.api.auth.ApiError` for what it refuses; this module gives the same
shape to what no route handles itself:

- an unknown path (404 ``route_not_found``) or method (405 ``method_not_allowed``) — FastAPI's default is
  ``{"detail": "Not Found"}``, a shape no client of remit's other errors expects;
- a parameter FastAPI refuses (400 ``parameter_invalid``, naming the parameter, never echoing its value);
- an exception a route did not expect, caught by :class:`ErrorMiddleware`: a database that went away is a 503
  ``database_unavailable`` with ``Retry-After`` (the caller retries), anything else a JSON 500
  ``internal_error``. It is logged by type and by where in remit's code it was raised, never with its message
  or traceback: a driver's message quotes the statement and its parameters (customer data, a raw body).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from remit.api.auth import ApiError
from remit.api.webhooks import RETRY_AFTER_SECONDS, raised_at
from remit.db.engine import is_unavailable_error

log = logging.getLogger("remit.api")

#: Codes for the HTTP errors Starlette raises itself; any other status becomes ``http_<status>``.
HTTP_ERROR_CODES = {404: "route_not_found", 405: "method_not_allowed"}
HTTP_ERROR_MESSAGES = {404: "no route matches this path", 405: "this path does not accept this method"}


def error_response(
    status_code: int,
    code: str,
    message: str,
    *,
    type: str = "invalid_request_error",
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The one error answer shape (the same as :meth:`ApiError.to_response`)."""
    return ApiError(status_code, code, message, type=type, param=param, headers=headers).to_response()


async def http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    code = HTTP_ERROR_CODES.get(status, f"http_{status}")
    message = HTTP_ERROR_MESSAGES.get(status) or (exc.detail if isinstance(exc.detail, str) else "request refused")
    return error_response(status, code, message, headers=dict(exc.headers or {}))


async def validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    location = errors[0].get("loc", ()) if errors else ()
    param = str(location[-1]) if location else None
    return error_response(400, "parameter_invalid", f"invalid value for {param or 'a parameter'}", param=param)


class ErrorMiddleware:
    """Pure ASGI: an exception that escapes a route becomes a JSON 503 or 500 instead of plain text and a
    traceback (see the module docs). One that escapes after the response started is re-raised: the answer
    can no longer change, and the server closes the connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            response = unexpected_error(exc, route=getattr(scope.get("route"), "path", None))
            await response(scope, receive, send)


def unexpected_error(exc: BaseException, *, route: str | None) -> Response:
    """The answer to an exception no route handled, logged by type and place only."""
    extra: dict[str, Any] = {"route": route, "error_type": type(exc).__name__}
    if is_unavailable_error(exc):
        log.warning("request failed: database unavailable", extra=extra)
        return error_response(
            503,
            "database_unavailable",
            "the database is unavailable; retry later",
            type="api_error",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )
    log.error("request failed: unexpected error", extra={**extra, "where": raised_at(exc)})
    return error_response(500, "internal_error", "the request failed; retry later", type="api_error")


def install(app: FastAPI) -> None:
    """Give ``app`` the one error shape: handlers for Starlette's and FastAPI's errors, and the middleware.

    Call before adding the metrics middleware, so that one (outside) times and counts these answers too."""
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_middleware(ErrorMiddleware)


__all__ = ["ErrorMiddleware", "error_response", "install", "unexpected_error"]
