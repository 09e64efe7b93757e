"""Spans: a unit of work told as ``start`` → ``stop`` or ``exception``, with its duration and identifiers.

The shape is Oban's and ``:telemetry``'s ``span``: a handler attached with :func:`attach` receives every span
event as a :class:`SpanEvent` — ``start`` (with ``system_time``), then ``stop`` (with ``duration`` in seconds)
or ``exception`` (with ``duration`` and the exception's type) — so a host can feed its own tracer or metrics
from them without remit depending on one. remit itself logs each span's end (``remit.span``: DEBUG on stop,
WARNING on an exception) and times billing actions in ``remit_billing_action_duration_seconds``.

::

    async with span("billing.action", action="subscribe", operation_id=key, processor="fake") as current:
        subscription = await processor.create_subscription(...)
        current.set(customer_id=subscription["customer"], object_id=subscription["id"])

Metadata is filtered by the ops events' filter (:mod:`remit.telemetry.sinks`: the shared allow-list, and of it
:data:`SPAN_FIELDS`, as scalars): a session URL, a client secret, an email or a body cannot leave through a span,
whatever a caller passes. Handlers are dispatched as ops events' sinks are: one that raises is logged by its
error type and skipped; the work goes on. The log line has the ops events' layout: the span's name in
``span_event``, its metadata (with ``duration_s``) under ``span``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from remit.telemetry.sinks import Sinks, log_fields, safe_metadata

log = logging.getLogger("remit.span")

Phase = Literal["start", "stop", "exception"]

#: The metadata keys a span may carry (each on the shared allow-list, :data:`~remit.telemetry.sinks.ALLOWED_FIELDS`).
SPAN_FIELDS = frozenset(
    {
        "action",
        "operation_id",
        "customer_id",
        "account_id",
        "subscription_id",
        "object_id",
        "package",
        "processor",
        "replayed",
        "outcome",
        "error_type",
        "code",
        "status",
    }
)


@dataclass(frozen=True, slots=True)
class SpanEvent:
    """One event of a span: ``name`` (``billing.action``), ``phase``, ``measurements`` (``system_time`` at
    start; ``duration`` in seconds at stop and exception) and ``metadata`` (allow-listed identifiers)."""

    name: str
    phase: Phase
    measurements: dict[str, float]
    metadata: dict[str, Any]


SpanHandler = Callable[[SpanEvent], None]
_handlers: Sinks[SpanHandler] = Sinks("span", "span handler")


def attach(handler: SpanHandler) -> Callable[[], None]:
    """Send every span event to ``handler`` too; returns a remover."""
    return _handlers.add(handler)


def span_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Only :data:`SPAN_FIELDS`, only scalar values (pure)."""
    return safe_metadata(metadata, SPAN_FIELDS)


def _send(event: SpanEvent) -> None:
    _handlers.send(log, event.name, event)


def _log(level: int, name: str, message: str, duration: float, metadata: dict[str, Any]) -> None:
    log.log(level, message, name, extra=log_fields("span", name, {**metadata, "duration_s": round(duration, 6)}))


@dataclass
class Span:
    """The span in progress: :meth:`set` adds identifiers learnt during the work (the customer a call
    created) to the ``stop`` or ``exception`` event."""

    name: str
    metadata: dict[str, Any] = field(default_factory=dict)
    started: float = 0.0

    def set(self, **metadata: Any) -> None:
        self.metadata.update(span_metadata(metadata))

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started


@asynccontextmanager
async def span(name: str, **metadata: Any) -> AsyncIterator[Span]:
    """Tell the block as a span (see the module docs). An exception is re-raised unchanged after the
    ``exception`` event."""
    current = Span(name, span_metadata(metadata), time.perf_counter())
    _send(SpanEvent(name, "start", {"system_time": time.time()}, dict(current.metadata)))
    try:
        yield current
    except BaseException as exc:
        current.metadata["error_type"] = type(exc).__name__
        duration = current.elapsed
        _send(SpanEvent(name, "exception", {"duration": duration}, dict(current.metadata)))
        _log(logging.WARNING, name, "%s failed", duration, current.metadata)
        raise
    duration = current.elapsed
    _send(SpanEvent(name, "stop", {"duration": duration}, dict(current.metadata)))
    _log(logging.DEBUG, name, "%s done", duration, current.metadata)


__all__ = ["SPAN_FIELDS", "Span", "SpanEvent", "SpanHandler", "attach", "span", "span_metadata"]
