"""The mail part's handler for processor events: owe the mail an event is the business event of.

It runs after the mirror (which has just stored the object the mail will read), in the handler's own
transaction, so the mail is owed exactly when dispatch records this handler as done; a replay of the event
finds the key in the log and owes nothing new.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from remit.mail.jobs import request_mail
from remit.mail.kinds import TRIGGERS, mail_for_event
from remit.runtime import Runtime

#: The name this handler's success is recorded under on each event row (keep it stable).
MAIL_HANDLER = "remit.mail"
#: The event types it runs for.
MAIL_EVENT_TYPES: tuple[str, ...] = tuple(TRIGGERS)


class EventContext(Protocol):
    """What the handler reads of dispatch's handler context."""

    @property
    def runtime(self) -> Runtime: ...

    @property
    def conn(self) -> AsyncConnection: ...

    @property
    def type(self) -> str: ...

    @property
    def data_object(self) -> Mapping[str, Any]: ...


async def owe_mail(ctx: EventContext) -> None:
    """Owe the mail this event's business event deserves, if any."""
    request = mail_for_event(ctx.type, ctx.data_object)
    if request is not None:
        await request_mail(ctx.runtime, ctx.conn, request)


__all__ = ["MAIL_EVENT_TYPES", "MAIL_HANDLER", "EventContext", "owe_mail"]
