"""The mail part's handler for processor events: owe the mail an event is the business event of.

It runs after the mirror (which has just stored the object the mail will read) and the documents part, in
the handler's own transaction, so the mail is owed exactly when dispatch records this handler as done; a
replay of the event finds the key in the log and owes nothing new.
"""

from __future__ import annotations

from remit.handlers import EventHandler
from remit.mail.jobs import request_mail
from remit.mail.kinds import TRIGGERS, mail_for_event
from remit.webhooks.handlers import HandlerContext

#: The name this handler's success is recorded under on each event row (keep it stable).
MAIL_HANDLER_NAME = "remit.mail"
#: The event types it runs for.
MAIL_EVENT_TYPES: tuple[str, ...] = tuple(TRIGGERS)


async def owe_mail(ctx: HandlerContext) -> None:
    """Owe the mail this event's business event deserves, if any."""
    request = mail_for_event(ctx.type, ctx.data_object)
    if request is not None:
        await request_mail(ctx.conn, request)


MAIL_HANDLER = EventHandler(MAIL_HANDLER_NAME, MAIL_EVENT_TYPES, owe_mail)

__all__ = ["MAIL_EVENT_TYPES", "MAIL_HANDLER", "MAIL_HANDLER_NAME", "owe_mail"]
