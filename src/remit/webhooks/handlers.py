"""Handlers for processor events, as a host writes them: the context they get, and how they are declared.

::

    from remit import HandlerContext, on_event

    @on_event("invoice.paid")
    async def grant_access(ctx: HandlerContext) -> None:
        customer = ctx.data_object["customer"]
        await ctx.conn.execute(...)          # commits together with "this handler is done"

    @on_event("customer.subscription.*", "invoice.payment_failed")
    async def notify(ctx: HandlerContext) -> None: ...

:func:`on_event` declares, it does not register: the module is named in ``REMIT_JOB_MODULES`` (or ``remit
worker --import``) and collected when the runtime is composed, after remit's own parts — or host start-up code
adds handlers to a runtime it built (``runtime.handlers.register("charge.*", some_function)``). Patterns are
shell-style (``*`` matches anything, dots included; ``*`` alone matches every event). Each handler runs after
remit's own (the mirror first), in its own transaction on ``ctx.conn``; a handler that raises does not stop
the others, and when it succeeds on a later attempt the ones that already succeeded are not run again: their
success is recorded on the event row in the same transaction as their database work. Handler names
(``module.function`` unless given) are what that record keys on, so keep them stable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from remit.handlers import EventHandler, HandlerRegistry, event_handler, on_event
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


HandlerFunction = Callable[[HandlerContext], Awaitable[Any]]

__all__ = [
    "EventHandler",
    "HandlerContext",
    "HandlerFunction",
    "HandlerRegistry",
    "event_handler",
    "on_event",
]
