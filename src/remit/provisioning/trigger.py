"""One trigger: POST a stored payload to the orchestrator, signed, and name the outcome.

The body is the payload as canonical JSON (sorted keys, no spaces), so a replay sends exactly the bytes the
first attempt sent; ``X-Provisioning-Signature`` is the hex HMAC-SHA256 of those bytes under
``PROVISIONING_TRIGGER_SECRET`` (:func:`remit.signing.hex_signature`). The outcome is ``None`` (accepted, any
2xx) or one of :data:`TRIGGER_ERRORS`; neither the URL, the secret nor the body ever appears in it. The HTTP
client is one per runtime (connections are reused across a reconciler run's re-drives) and closed with it.

:func:`send_triggers` sends many (a reconciler run's batch) with at most
``REMIT_PROVISIONING_TRIGGER_CONCURRENCY`` in flight: all at once would open a connection each and cost the
client more CPU per request than the network saves (httpx's pool does work per request that grows with the
requests waiting in it), while a small bound keeps a few warm connections busy.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from remit.runtime import Runtime
from remit.signing import hex_signature

SIGNATURE_HEADER = "X-Provisioning-Signature"
NOT_CONFIGURED = "trigger_not_configured"
FETCH_ERROR = "fetch_error"
HTTP_4XX = "http_4xx"
HTTP_5XX = "http_5xx"
TRIGGER_ERRORS = (NOT_CONFIGURED, FETCH_ERROR, HTTP_4XX, HTTP_5XX)
#: Worth retrying soon: the network or the orchestrator failed. A 4xx is the orchestrator refusing this
#: payload, and an unset URL needs an operator; the reconciler still retries those on its own schedule.
TRANSIENT = frozenset({FETCH_ERROR, HTTP_5XX})

_CLIENT_KEY = "provisioning.http"


def body_of(payload: Mapping[str, Any]) -> bytes:
    """The canonical bytes of ``payload``: what is signed and sent, the same on every replay."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def classify(status_code: int) -> str | None:
    """The outcome of an answer (pure): None for 2xx, else ``http_4xx``/``http_5xx`` (1xx/3xx count as 5xx:
    the orchestrator did not take the payload)."""
    if 200 <= status_code < 300:
        return None
    if 400 <= status_code < 500:
        return HTTP_4XX
    return HTTP_5XX


def _client(runtime: Runtime) -> httpx.AsyncClient:
    client = runtime.extensions.get(_CLIENT_KEY)
    if isinstance(client, httpx.AsyncClient):
        return client
    settings = runtime.settings
    # Keep-alive for every connection a run's bounded fan-out uses, so the next run finds them warm.
    limits = httpx.Limits(max_keepalive_connections=max(20, settings.provisioning_trigger_concurrency))
    made = httpx.AsyncClient(timeout=settings.provisioning_trigger_timeout, follow_redirects=False, limits=limits)
    runtime.extensions[_CLIENT_KEY] = made
    runtime.closers.append(made.aclose)
    return made


async def send_trigger(runtime: Runtime, payload: Mapping[str, Any]) -> str | None:
    """POST ``payload``; None when the orchestrator accepted it, else the reason (see the module docs)."""
    url = runtime.settings.provisioning_trigger_url
    secret = runtime.settings.provisioning_trigger_secret
    if not url or not secret:
        return NOT_CONFIGURED
    body = body_of(payload)
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: hex_signature(body, secret)}
    try:
        response = await _client(runtime).post(url, content=body, headers=headers)
    except httpx.HTTPError:
        return FETCH_ERROR
    return classify(response.status_code)


async def send_triggers(runtime: Runtime, payloads: Sequence[Mapping[str, Any]]) -> list[str | None]:
    """POST each of ``payloads``, at most ``REMIT_PROVISIONING_TRIGGER_CONCURRENCY`` at a time; the outcomes
    in the same order (see :func:`send_trigger`)."""
    gate = asyncio.Semaphore(runtime.settings.provisioning_trigger_concurrency)

    async def one(payload: Mapping[str, Any]) -> str | None:
        async with gate:
            return await send_trigger(runtime, payload)

    return list(await asyncio.gather(*(one(payload) for payload in payloads)))


__all__ = [
    "FETCH_ERROR",
    "HTTP_4XX",
    "HTTP_5XX",
    "NOT_CONFIGURED",
    "SIGNATURE_HEADER",
    "TRANSIENT",
    "TRIGGER_ERRORS",
    "body_of",
    "classify",
    "send_trigger",
    "send_triggers",
]
