"""Handlers for processor events: the record a part or a host declares, and the ordered registry dispatch reads.

A handler is a name (what dispatch records its success under, on the event row: keep it stable), the event
types it wants (exact names or shell-style patterns; ``*`` alone matches every event) and an async function
of one argument, the handler context (:class:`remit.webhooks.HandlerContext`)::

    @on_event("invoice.paid")
    async def grant_access(ctx: HandlerContext) -> None: ...

:func:`on_event` registers nothing: it marks the function (which it returns unchanged) so that the module it
lives in can be collected as a part (:func:`remit.part.part_from_module`). Composition puts every part's
handlers into one :class:`HandlerRegistry`, in order — the mirror, then remit's parts, then the host's — and
dispatch runs them in that order. Nothing here knows the context's type, so this sits below the parts.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from remit.errors import WebhookError

#: An event handler function: ``await func(ctx)``.
HandlerFunc = Callable[[Any], Awaitable[Any]]
F = TypeVar("F", bound=HandlerFunc)

#: The attribute :func:`on_event` sets on a function it declares a handler.
MARK = "__remit_event_handler__"


@dataclass(frozen=True, slots=True)
class EventHandler:
    """One handler: its stable name, the event type patterns it wants, its function."""

    name: str
    patterns: tuple[str, ...]
    func: HandlerFunc

    def matches(self, event_type: str) -> bool:
        return any(fnmatch.fnmatchcase(event_type, pattern) for pattern in self.patterns)


def event_handler(patterns: str | Iterable[str], func: HandlerFunc, *, name: str | None = None) -> EventHandler:
    """The handler record for ``func``; ``name`` defaults to ``module.function``."""
    pattern_tuple = (patterns,) if isinstance(patterns, str) else tuple(patterns)
    if not pattern_tuple or not all(isinstance(p, str) and p for p in pattern_tuple):
        raise WebhookError("invalid_handler", "a handler needs at least one non-empty event type pattern")
    return EventHandler(name or f"{func.__module__}.{func.__qualname__}", pattern_tuple, func)


def on_event(*patterns: str, name: str | None = None) -> Callable[[F], F]:
    """Declare the decorated coroutine function a handler for ``patterns``; returns it unchanged.

    Declaring is not registering: the host's module is collected when a runtime is composed (named by
    ``REMIT_JOB_MODULES`` or ``remit worker --import``)."""

    def mark(func: F) -> F:
        setattr(func, MARK, event_handler(patterns, func, name=name))
        return func

    return mark


def declared_handler(value: object) -> EventHandler | None:
    """The handler :func:`on_event` declared on ``value``, if any."""
    handler = getattr(value, MARK, None)
    return handler if isinstance(handler, EventHandler) else None


class HandlerRegistry:
    """Handlers in the order they run; names are unique (adding the same function again is harmless)."""

    def __init__(self, handlers: Iterable[EventHandler] = ()) -> None:
        self._handlers: dict[str, EventHandler] = {}
        for handler in handlers:
            self.add(handler)

    def add(self, handler: EventHandler) -> EventHandler:
        existing = self._handlers.get(handler.name)
        if existing is not None and existing.func is not handler.func:
            raise WebhookError("invalid_handler", f"two handlers are registered as {handler.name!r}")
        self._handlers[handler.name] = handler
        return handler

    def register(self, patterns: str | Iterable[str], func: HandlerFunc, *, name: str | None = None) -> EventHandler:
        """Run ``func`` (after those already registered) for every event whose type matches ``patterns``."""
        return self.add(event_handler(patterns, func, name=name))

    def on(self, *patterns: str, name: str | None = None) -> Callable[[F], F]:
        """Decorator form of :meth:`register`; returns the function unchanged."""

        def decorate(func: F) -> F:
            self.register(patterns, func, name=name)
            return func

        return decorate

    def remove(self, name: str) -> None:
        self._handlers.pop(name, None)

    def clear(self) -> None:
        self._handlers.clear()

    def for_type(self, event_type: str) -> list[EventHandler]:
        """The handlers to run for ``event_type``, in order."""
        return [handler for handler in self._handlers.values() if handler.matches(event_type)]

    def names(self) -> list[str]:
        return list(self._handlers)

    def __iter__(self) -> Iterator[EventHandler]:
        return iter(list(self._handlers.values()))


__all__ = [
    "EventHandler",
    "HandlerFunc",
    "HandlerRegistry",
    "declared_handler",
    "event_handler",
    "on_event",
]
