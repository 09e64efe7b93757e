"""The host's webhook handlers: register code to run for event types, by exact name or pattern.

::

    from remit.webhooks import on_event, HandlerContext

    @on_event("invoice.paid")
    async def grant_access(ctx: HandlerContext) -> None:
        customer = ctx.data_object["customer"]
        await ctx.conn.execute(...)          # commits together with "this handler is done"

    @on_event("customer.subscription.*", "invoice.payment_failed")
    async def notify(ctx: HandlerContext) -> None: ...

    register_handler("charge.*", some_function)            # the same, from host start-up code

Patterns are shell-style (``*`` matches anything, dots included; ``*`` alone matches every event). Each
handler runs after remit's default handler (the mirror), in its own transaction on ``ctx.conn``; a handler
that raises does not stop the others, and when it succeeds on a later attempt the ones that already
succeeded are not run again: their success is recorded on the event row in the same transaction as their
database work. Handler names (``module.function`` unless given) are what that record keys on, so keep them
stable.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from remit.errors import WebhookError
from remit.webhooks.events import WebhookEvent

if TYPE_CHECKING:
    from remit.runtime import Runtime


@dataclass(frozen=True)
class HandlerContext:
    """What a handler is given: the runtime, its own transaction, the stored event and its parsed body."""

    runtime: Runtime
    conn: AsyncConnection
    event: WebhookEvent
    payload: Mapping[str, Any]

    @property
    def type(self) -> str:
        return self.event.type

    @property
    def data_object(self) -> Mapping[str, Any]:
        """``data.object``: the processor object the event is about."""
        data = self.payload.get("data")
        obj = data.get("object") if isinstance(data, Mapping) else None
        return obj if isinstance(obj, Mapping) else {}


HandlerFunction = Callable[[HandlerContext], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RegisteredHandler:
    name: str
    patterns: tuple[str, ...]
    func: HandlerFunction

    def matches(self, event_type: str) -> bool:
        return any(fnmatch.fnmatchcase(event_type, pattern) for pattern in self.patterns)


class HandlerRegistry:
    """Host handlers in registration order."""

    def __init__(self) -> None:
        self._handlers: dict[str, RegisteredHandler] = {}

    def register(
        self, patterns: str | tuple[str, ...], func: HandlerFunction, *, name: str | None = None
    ) -> RegisteredHandler:
        """Run ``func`` for every event whose type matches one of ``patterns``."""
        pattern_tuple = (patterns,) if isinstance(patterns, str) else tuple(patterns)
        if not pattern_tuple or not all(isinstance(p, str) and p for p in pattern_tuple):
            raise WebhookError("invalid_handler", "a handler needs at least one non-empty event type pattern")
        handler_name = name or f"{func.__module__}.{func.__qualname__}"
        existing = self._handlers.get(handler_name)
        if existing is not None and existing.func is not func:
            raise WebhookError("invalid_handler", f"two handlers are registered as {handler_name!r}")
        handler = RegisteredHandler(handler_name, pattern_tuple, func)
        self._handlers[handler_name] = handler
        return handler

    def on(self, *patterns: str, name: str | None = None) -> Callable[[HandlerFunction], HandlerFunction]:
        """Decorator form of :meth:`register`; returns the function unchanged."""

        def decorate(func: HandlerFunction) -> HandlerFunction:
            self.register(patterns, func, name=name)
            return func

        return decorate

    def remove(self, name: str) -> None:
        self._handlers.pop(name, None)

    def clear(self) -> None:
        self._handlers.clear()

    def for_type(self, event_type: str) -> list[RegisteredHandler]:
        """The handlers to run for ``event_type``, in registration order."""
        return [handler for handler in self._handlers.values() if handler.matches(event_type)]

    def names(self) -> list[str]:
        return list(self._handlers)


#: The registry :func:`on_event` and :func:`register_handler` fill; the dispatch job reads it.
default_handlers = HandlerRegistry()


def on_event(*patterns: str, name: str | None = None) -> Callable[[HandlerFunction], HandlerFunction]:
    """Register the decorated coroutine function as a handler for ``patterns`` (see module docs)."""
    return default_handlers.on(*patterns, name=name)


def register_handler(
    patterns: str | tuple[str, ...], func: HandlerFunction, *, name: str | None = None
) -> RegisteredHandler:
    """Register ``func`` from host code (the non-decorator form of :func:`on_event`)."""
    return default_handlers.register(patterns, func, name=name)


__all__ = [
    "HandlerContext",
    "HandlerFunction",
    "HandlerRegistry",
    "RegisteredHandler",
    "default_handlers",
    "on_event",
    "register_handler",
]
