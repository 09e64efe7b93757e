"""The sandbox host app's webhook handlers, written as a host writes its own: declared with ``@on_event``.

Declaring registers nothing: ``remit up`` composes this module, collected as a part (:data:`remit.sandbox.PART`),
into its runtime after remit's own parts, as ``REMIT_JOB_MODULES`` would a host's module.

The seat grant reads the subscription as the mirror holds it now (the mirror projection ran first, in its
own transaction), not the event's copy: events are notifications, and a replay after the operator fixed the
metadata must read the fixed value — the stored event still says ``twelve``. Granting is setting a number, so
running it for every event of the subscription, in any order, ends in the same grant. The sandbox keeps no
table of its own: a grant is a debug log line with identifiers only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from remit.billing.mirror import get_object
from remit.sandbox.seats import GRANT_SEATS, SEATS_EVENT_TYPES, seats_of
from remit.webhooks.handlers import HandlerContext, on_event

log = logging.getLogger("remit.sandbox")


@on_event(*SEATS_EVENT_TYPES, name=GRANT_SEATS)
async def grant_seats(ctx: HandlerContext) -> None:
    """Grant the account the seats its subscription names now (see the module docs)."""
    subscription: Mapping[str, Any] = ctx.data_object
    subscription_id = subscription.get("id")
    if isinstance(subscription_id, str):
        current = await get_object(ctx.conn, "subscription", subscription_id)
        if current is not None:
            subscription = current.data
    seats = seats_of(subscription)
    log.debug("seats granted", extra={"subscription_id": subscription_id, "seats": seats, "event_id": ctx.event.id})


__all__ = ["grant_seats"]
