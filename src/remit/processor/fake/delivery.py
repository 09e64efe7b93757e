"""Delivering signed events: over HTTP to a running service, or in-process in tests.

A delivery is any ``async (SignedEvent) -> DeliveryResult`` callable, so the fake does not care where events
go. :class:`HttpDelivery` posts them with httpx like Stripe does (``Content-Type: application/json``, the
``Stripe-Signature`` header); :class:`AsgiDelivery` posts into an ASGI app in the same process (no socket);
:class:`CollectingDelivery` only keeps them, for unit tests that inspect what was sent. A delivery never
raises for the receiver's sake: a refused or failed delivery is recorded on the event, as Stripe records it,
and does not undo the call that caused it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


@dataclass(frozen=True, slots=True)
class SignedEvent:
    """One event ready to send: the exact payload text and its ``Stripe-Signature`` header."""

    event_id: str
    event_type: str
    payload: str
    signature: str

    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": self.signature,
            "User-Agent": USER_AGENT,
        }


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The receiver's answer; ``duplicate`` when remit said it already had the event (nothing new stored)."""

    status_code: int | None
    error: str | None = None
    duplicate: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


Delivery = Callable[[SignedEvent], Awaitable[DeliveryResult]]

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def refusal_code(response: httpx.Response) -> str | None:
    """The receiver's error code of a refusal (``signature_invalid``, ``not_an_event``), from remit's own
    ``{"error": {"code": ...}}`` answer, so an operator sees *why* without the receiver's logs. Only an
    identifier is kept: nothing of a body that is not remit's can reach the output."""
    try:
        code = response.json().get("error", {}).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, str) and _CODE.match(code) else None


def is_duplicate(response: httpx.Response) -> bool:
    """Whether remit's 2xx answer says the event was already stored (``{"duplicate": true}``)."""
    try:
        return response.json().get("duplicate") is True
    except (ValueError, AttributeError):
        return False


class HttpDelivery:
    """POST each event to ``url`` (e.g. ``REMIT_URL`` + ``REMIT_WEBHOOK_PATH``)."""

    def __init__(self, url: str, *, timeout: float = 10.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url
        self._timeout = timeout
        self._transport = transport

    async def __call__(self, event: SignedEvent) -> DeliveryResult:
        try:
            async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client:
                response = await client.post(self.url, content=event.payload.encode("utf-8"), headers=event.headers())
        except httpx.HTTPError as exc:
            return DeliveryResult(None, type(exc).__name__)
        if response.is_success:
            return DeliveryResult(response.status_code, duplicate=is_duplicate(response))
        return DeliveryResult(response.status_code, refusal_code(response))


class AsgiDelivery(HttpDelivery):
    """POST each event into an ASGI app in this process (tests of the receiving side, no server)."""

    def __init__(self, app: Any, path: str = "/webhooks/stripe") -> None:
        super().__init__(f"http://remit.test{path}", transport=httpx.ASGITransport(app=app))


@dataclass
class CollectingDelivery:
    """Keep every event and answer ``status_code``; for tests that look at what would have been sent."""

    status_code: int = 200
    events: list[SignedEvent] = field(default_factory=list)

    async def __call__(self, event: SignedEvent) -> DeliveryResult:
        self.events.append(event)
        return DeliveryResult(self.status_code)

    @property
    def types(self) -> list[str]:
        return [event.event_type for event in self.events]

    def clear(self) -> None:
        self.events.clear()


__all__ = [
    "USER_AGENT",
    "AsgiDelivery",
    "CollectingDelivery",
    "Delivery",
    "DeliveryResult",
    "HttpDelivery",
    "SignedEvent",
    "is_duplicate",
    "refusal_code",
]
