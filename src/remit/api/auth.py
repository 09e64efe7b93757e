"""Bearer service tokens for the internal API, and its JSON error answers.

Services that read remit (a console, a back office) send ``Authorization: Bearer <token>``; the accepted
tokens are ``REMIT_SERVICE_TOKENS`` (comma-separated, so a new token can be rolled out before the old one is
removed). A presented token is compared with every configured one using :func:`hmac.compare_digest` on their
SHA-256 digests and no early exit, so the time taken says nothing about how close a guess was, how long a
token is, or which token matched.

With no token configured every request is refused — also in development — because an internal API that is
open by default ends up open in production. ``docs/mirror.md`` says how to set one.

Every ``/api/v1`` router takes :data:`SERVICE_DEPENDENCIES`: the token first, then the token's rate limit
(``REMIT_API_RATE_LIMIT`` requests per ``REMIT_API_RATE_WINDOW_SECONDS``, counted in the database so that every
process on every host shares one count; see :mod:`remit.guard.ratelimit`), answering 429 with ``Retry-After``.
The cron endpoints take :func:`require_cron_secret` instead: ``CRON_SECRET`` in ``X-Cron-Secret`` (or as a
bearer token), compared the same way.

Routes behind tokens use :class:`ServiceRoute`, which turns an :class:`ApiError` raised by a dependency or an
endpoint into a Stripe-shaped JSON error: ``{"error": {"type": …, "code": …, "message": …}}``. It also reads a
JSON body the way the webhook endpoint and ``/api/v1/usage`` do (orjson, then the 64-level depth rule), so that
a body that is not JSON or nests too deep is a 400 ``invalid_json`` / ``json_too_deep`` naming ``body`` — after
the route's other dependencies (the token first), before the body is validated, with nothing done.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from remit.errors import WebhookError
from remit.guard import ratelimit
from remit.webhooks.envelope import loads, refuse_deep_nesting

BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="remit"'}


class ApiError(Exception):
    """An error answer of the internal API; ``code`` is stable and machine-readable."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.message = message
        self.type = type
        self.param = param
        self.headers = headers or {}
        super().__init__(message)

    def to_response(self) -> JSONResponse:
        error: dict[str, Any] = {"type": self.type, "code": self.code, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        return JSONResponse({"error": error}, status_code=self.status_code, headers=self.headers)


class JsonBodyRequest(Request):
    """A request whose JSON body is parsed as webhook deliveries are, for FastAPI's body parameters.

    FastAPI's own parse (the standard library's) answered a body nested past about 1,000 levels with a generic
    ``http_400`` before the token was checked, and a shallower one with ``parameter_invalid`` naming whatever
    field the nesting broke. Here a refusal is kept on ``request.state`` and the body reads as ``null``:
    :func:`refuse_unreadable_json`, a dependency of every :class:`ServiceRoute`, answers it once the
    dependencies before it (the token) have passed, and before FastAPI validates the body."""

    async def json(self) -> Any:
        try:
            document = loads(await self.body())
            refuse_deep_nesting(document)
        except WebhookError as error:
            self.state.json_refusal = ApiError(400, error.code, str(error), param="body")
            return None
        return document


async def refuse_unreadable_json(request: Request) -> None:
    """FastAPI dependency (the last of every :class:`ServiceRoute`): the 400 :class:`JsonBodyRequest` kept for a
    body that is not JSON (``invalid_json``) or nests too deep (``json_too_deep``)."""
    refusal: ApiError | None = getattr(request.state, "json_refusal", None)
    if refusal is not None:
        raise refusal


class ServiceRoute(APIRoute):
    """An API route whose :class:`ApiError`\\ s (from dependencies too) become JSON error responses, and whose
    JSON body is read by :class:`JsonBodyRequest` (refused by :func:`refuse_unreadable_json`)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        dependencies = [*(kwargs.pop("dependencies", None) or ()), Depends(refuse_unreadable_json)]
        super().__init__(path, endpoint, dependencies=dependencies, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(JsonBodyRequest(request.scope, request.receive))
            except ApiError as exc:
                return exc.to_response()

        return handle


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive), else ``None``."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def matching_token(presented: str, tokens: Sequence[str]) -> int | None:
    """The index of the configured token equal to ``presented``, compared in constant time against all.

    :func:`hmac.compare_digest` returns at once when its arguments differ in length, which would tell a caller
    the length of a token; comparing fixed-size digests takes that away."""
    given = _digest(presented)
    found: int | None = None
    for index, token in enumerate(tokens):
        if hmac.compare_digest(given, _digest(token)) and found is None:
            found = index
    return found


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, type="authentication_error", headers=BEARER_CHALLENGE)


async def require_service_token(request: Request) -> str:
    """FastAPI dependency: pass with a valid bearer token, else answer 401. Returns ``service-token:N``
    (which configured token matched, 1-based) for audit trails; the token itself is never kept."""
    tokens: list[str] = list(request.app.state.runtime.settings.service_tokens)
    if not tokens:
        raise unauthorized("no service tokens are configured; set REMIT_SERVICE_TOKENS to enable this API")
    presented = bearer_token(request.headers.get("authorization"))
    index = matching_token(presented, tokens) if presented is not None else None
    if index is None:
        raise unauthorized("a valid bearer token is required (Authorization: Bearer <token>)")
    request.state.rate_key = "token:" + _digest(tokens[index]).hex()[:24]
    return f"service-token:{index + 1}"


def rate_limited(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "rate_limit",
        f"too many requests for this token; retry after {retry_after} seconds",
        headers={"Retry-After": str(retry_after)},
    )


async def enforce_rate_limit(request: Request) -> None:
    """FastAPI dependency, after :func:`require_service_token`: count the request against its token's limit,
    or answer 429 with ``Retry-After``. The key is a digest prefix of the token, never the token; a limit of
    0 turns the limit off."""
    runtime = request.app.state.runtime
    settings = runtime.settings
    key: str | None = getattr(request.state, "rate_key", None)
    if settings.api_rate_limit == 0 or key is None:
        return
    async with runtime.db.begin() as conn:
        decision = await ratelimit.take(
            conn,
            key,
            limit=settings.api_rate_limit,
            seconds=settings.api_rate_window_seconds,
            now=runtime.clock.now().timestamp(),
        )
    if not decision.allowed:
        raise rate_limited(decision.retry_after)


#: The dependencies of every ``/api/v1`` router, in order: who is calling, then whether they may call now.
SERVICE_DEPENDENCIES = [Depends(require_service_token), Depends(enforce_rate_limit)]


#: The header an external scheduler sends the cron secret in (``Authorization: Bearer`` is accepted too, for
#: platforms whose cron can only send that).
CRON_SECRET_HEADER = "x-cron-secret"  # noqa: S105 - a header name, not a secret


async def require_cron_secret(request: Request) -> None:
    """FastAPI dependency of the cron endpoints: ``X-Cron-Secret: <CRON_SECRET>`` or ``Authorization: Bearer
    <CRON_SECRET>`` (comma-separated secrets, for rotation), compared in constant time. 401 without a match;
    503 ``cron_not_configured`` when no secret is set (a deployment problem, not the caller's)."""
    secrets: list[str] = list(request.app.state.runtime.settings.cron_secrets)
    if not secrets:
        raise ApiError(
            503,
            "cron_not_configured",
            "no cron secret is configured; set CRON_SECRET to enable the cron endpoints",
            type="api_error",
        )
    presented = request.headers.get(CRON_SECRET_HEADER) or bearer_token(request.headers.get("authorization"))
    if not presented or matching_token(presented, secrets) is None:
        raise ApiError(
            401,
            "unauthorized",
            "the cron secret is required (X-Cron-Secret, or Authorization: Bearer)",
            type="authentication_error",
        )


__all__ = [
    "CRON_SECRET_HEADER",
    "SERVICE_DEPENDENCIES",
    "ApiError",
    "JsonBodyRequest",
    "ServiceRoute",
    "bearer_token",
    "enforce_rate_limit",
    "matching_token",
    "rate_limited",
    "refuse_unreadable_json",
    "require_cron_secret",
    "require_service_token",
    "unauthorized",
]
