"""One trigger: POST a stored payload to the orchestrator, signed, and name the outcome.

The body is the payload as canonical JSON (sorted keys, no spaces), so a replay sends exactly the bytes the
first attempt sent; ``X-Provisioning-Signature`` is the hex HMAC-SHA256 of those bytes under
``PROVISIONING_TRIGGER_SECRET`` (:func:`remit.signing.hex_signature`). The outcome is ``None`` (accepted, any
2xx) or one of :data:`TRIGGER_ERRORS`; neither the URL, the secret nor the body ever appears in it.

:func:`send_triggers` sends many (a reconciler run's batch) over at most
``REMIT_PROVISIONING_TRIGGER_CONCURRENCY`` keep-alive connections, one request at a time on each: all at once
would open a connection each and cost the client more CPU per request than the network saves, while a small
bound keeps a few warm connections busy. The connections are the runtime's (idle ones are reused by the next
run, closed with the runtime) and are driven with httpcore directly, one per lane, with no pool in between: the
client's cost per request does not grow with the batch (httpx's pool scans its connections and waiting
requests on every request).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any

import httpcore

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

_LANES_KEY = "provisioning.http"
_SCHEMES = {"http": 80, "https": 443}


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


class _Lanes:
    """The runtime's idle keep-alive connections to the orchestrator, one per lane of a fan-out: a lane takes
    one, sends its share of a batch over it one request at a time and gives it back, so the next run finds it
    warm. No pool sits between a request and its connection (httpx's pool does work per request that grows
    with the connections and the requests waiting on it)."""

    def __init__(self) -> None:
        self.idle: list[httpcore.AsyncHTTPConnection] = []

    async def aclose(self) -> None:
        idle, self.idle = self.idle, []
        for connection in idle:
            await connection.aclose()


def _lanes(runtime: Runtime) -> _Lanes:
    lanes = runtime.extensions.get(_LANES_KEY)
    if isinstance(lanes, _Lanes):
        return lanes
    made = _Lanes()
    runtime.extensions[_LANES_KEY] = made
    runtime.closers.append(made.aclose)
    return made


class _Target:
    """The orchestrator's URL, parsed once per fan-out, and the request parts every trigger shares."""

    def __init__(self, url: str, secret: str, timeout: float) -> None:
        parsed = httpcore.URL(url)
        scheme = parsed.scheme.decode("ascii")
        if scheme not in _SCHEMES or not parsed.host:
            raise httpcore.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}")
        self.url = parsed
        self.origin = parsed.origin
        port = parsed.port
        self.host = parsed.host if port is None or port == _SCHEMES[scheme] else b"%b:%d" % (parsed.host, port)
        self.secret = secret
        self.timeouts = {"timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}}

    async def connection(self, idle: list[httpcore.AsyncHTTPConnection]) -> httpcore.AsyncHTTPConnection:
        """A warm idle connection to the orchestrator, else a new one (connected on its first request)."""
        while idle:
            connection = idle.pop()
            if connection.can_handle_request(self.origin) and not connection.has_expired():
                return connection
            # Closed by the orchestrator while idle, or to another URL: dropped, never reused.
            await connection.aclose()
        return httpcore.AsyncHTTPConnection(self.origin)

    def request(self, payload: Mapping[str, Any]) -> httpcore.Request:
        body = body_of(payload)
        headers = [
            (b"Host", self.host),
            (b"Content-Type", b"application/json"),
            (b"Content-Length", b"%d" % len(body)),
            (SIGNATURE_HEADER.encode("ascii"), hex_signature(body, self.secret).encode("ascii")),
        ]
        return httpcore.Request(b"POST", self.url, headers=headers, content=body, extensions=self.timeouts)


#: What a failed POST can raise (the network, the TLS handshake, a timeout, a broken answer): ``fetch_error``.
_FETCH_ERRORS = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ConnectionNotAvailable,
    httpcore.ProxyError,
    OSError,
)


async def _post(connection: httpcore.AsyncHTTPConnection, request: httpcore.Request) -> str | None:
    response = await connection.handle_async_request(request)
    try:
        await response.aread()
    finally:
        await response.aclose()
    return classify(response.status)


async def send_trigger(runtime: Runtime, payload: Mapping[str, Any]) -> str | None:
    """POST ``payload``; None when the orchestrator accepted it, else the reason (see the module docs)."""
    return (await send_triggers(runtime, [payload]))[0]


async def send_triggers(runtime: Runtime, payloads: Sequence[Mapping[str, Any]]) -> list[str | None]:
    """POST each of ``payloads`` over at most ``REMIT_PROVISIONING_TRIGGER_CONCURRENCY`` connections, one
    request at a time on each; the outcomes in the same order (see :func:`send_trigger`)."""
    settings = runtime.settings
    url, secret = settings.provisioning_trigger_url, settings.provisioning_trigger_secret
    if not url or not secret:
        return [NOT_CONFIGURED] * len(payloads)
    try:
        target = _Target(url, secret, settings.provisioning_trigger_timeout)
    except _FETCH_ERRORS:
        return [FETCH_ERROR] * len(payloads)
    idle = _lanes(runtime).idle
    outcomes: list[str | None] = [FETCH_ERROR] * len(payloads)
    pending = iter(range(len(payloads)))  # shared by the lanes: each index is taken by one lane, once

    async def lane() -> None:
        connection = await target.connection(idle)
        try:
            for index in pending:
                request = target.request(payloads[index])
                try:
                    try:
                        outcomes[index] = await _post(connection, request)
                    except httpcore.ConnectionNotAvailable:
                        # The last answer said "Connection: close": nothing was sent; once more on a new one.
                        await connection.aclose()
                        connection = httpcore.AsyncHTTPConnection(target.origin)
                        outcomes[index] = await _post(connection, request)
                except _FETCH_ERRORS:
                    outcomes[index] = FETCH_ERROR
                    await connection.aclose()
                    connection = httpcore.AsyncHTTPConnection(target.origin)
        finally:
            if connection.is_idle() and not connection.is_closed():
                idle.append(connection)
            else:
                await connection.aclose()

    lanes = min(settings.provisioning_trigger_concurrency, len(payloads))
    await asyncio.gather(*(lane() for _ in range(lanes)))
    return outcomes


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
