"""``/fake/v1``: the fake processor served in Stripe's own request and response shapes.

Point the official ``stripe`` package at it (``STRIPE_API_BASE=http://127.0.0.1:8000/fake``) and the live
adapter runs end to end without the internet. Requests are what the SDK sends: form-encoded bodies with
bracketed keys (JSON for the ``/v2`` paths), parameters of GET and DELETE in the query string, a bearer API
key (any non-empty key; none is a 401 as at Stripe), an optional ``Idempotency-Key`` header, an optional
``Stripe-Version`` (the fake answers in the versions it knows and refuses others as Stripe does). Answers are
Stripe's JSON with a ``Request-Id`` header, errors are ``{"error": {"type", "message", "code", ...,
"request_log_url"}}`` with Stripe's status codes, a scripted 429 carries ``Retry-After``, and a scripted timeout
holds the request for its hold time (or until the caller hangs up) before answering 504.

Mounted by :func:`mount` only when ``REMIT_PROCESSOR=fake`` and ``REMIT_ENV`` is not ``production`` (anyone who
reaches it can move the fake's world); not part of the OpenAPI document.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from remit.processor import build_fake_engine
from remit.processor.fake.engine import FakeEngine, FakeTimeout, new_request_id
from remit.processor.fake.errors import API_ERROR, INVALID_REQUEST, ApiError
from remit.processor.fake.params import decode_body, decode_form
from remit.processor.fake.processor import FakeProcessor
from remit.processor.fake.render import render
from remit.runtime import Runtime

PREFIX = "/fake"

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def engine_for(request: Request) -> FakeEngine:
    """The runtime's fake engine (its processor's, when that is the fake), made once per app."""
    state = request.app.state
    engine: FakeEngine | None = getattr(state, "fake_engine", None)
    if engine is None:
        runtime: Runtime = state.runtime
        if isinstance(runtime.processor, FakeProcessor):
            engine = runtime.processor.engine
        else:
            engine = build_fake_engine(runtime.settings, runtime.db, runtime.clock)
        state.fake_engine = engine
    return engine


def _answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(render(body), status_code=status, media_type="application/json", headers=headers)


def _error(error: ApiError) -> Response:
    request_id = new_request_id()
    return _answer(error.status, error.body(request_id), {"Request-Id": request_id, **error.headers})


async def _params(request: Request) -> dict[str, Any]:
    if request.method in {"GET", "DELETE"}:
        return decode_form(parse_qsl(request.url.query, keep_blank_values=True))
    body = await request.body()
    if not body:
        return decode_form(parse_qsl(request.url.query, keep_blank_values=True))
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            parsed = json.loads(body)
        except ValueError:
            raise ApiError(400, INVALID_REQUEST, "Invalid JSON body.") from None
        return parsed if isinstance(parsed, dict) else {}
    return decode_body(body)


@router.api_route("/{path:path}", methods=["GET", "POST", "DELETE"])
async def fake_api(path: str, request: Request) -> Response:
    """Every call of the fake's API."""
    authorization = request.headers.get("authorization", "")
    if not authorization.lower().startswith("bearer ") or not authorization[7:].strip():
        return _error(ApiError(401, INVALID_REQUEST, "You did not provide an API key."))
    try:
        params = await _params(request)
    except ApiError as exc:
        return _error(exc)
    engine = engine_for(request)
    try:
        answer = await engine.call(
            request.method,
            "/" + path,
            params,
            idempotency_key=request.headers.get("idempotency-key"),
            api_version=request.headers.get("stripe-version"),
        )
    except FakeTimeout as exc:
        await _hold(request, exc.hold_seconds)
        return _error(ApiError(504, API_ERROR, "The request timed out (scripted by the fake processor)."))
    return _answer(answer.status, answer.body, answer.headers)


async def _hold(request: Request, seconds: float) -> None:
    """Hold a scripted timeout's answer for ``seconds``, or until the caller hangs up (its own timeout): a
    request nobody waits for must not keep the server's graceful shutdown waiting out the rest of the hold."""

    async def hung_up() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(hung_up(), seconds)


def mount(app: FastAPI, runtime: Runtime) -> None:
    """Serve ``/fake/v1`` on ``app`` when the fake is the configured processor, outside production."""
    if runtime.settings.serves_fake_api:
        app.include_router(router)


__all__ = ["PREFIX", "engine_for", "mount", "router"]
