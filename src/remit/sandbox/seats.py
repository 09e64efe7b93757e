"""The sandbox host's seat rule: a subscription's ``metadata.seats`` says how many seats the account gets.

Pure, and free of registration, so it can be imported anywhere (a test, the demo) without putting the
sandbox's handler in the registry; :mod:`remit.sandbox.handlers` applies it to events.

A typical host-side data problem: sales reps set ``seats`` on the subscription at the processor, and when one
types ``twelve`` instead of ``12`` no retry will ever read it, so :func:`seats_of` raises
:class:`SeatsUnreadable`, a :class:`~remit.errors.PermanentFailure`, and dispatch dead-letters the event at once
instead of retrying it for three days.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from remit.errors import PermanentFailure

#: The event types the seat grant follows.
SEATS_EVENT_TYPES: tuple[str, ...] = ("customer.subscription.created", "customer.subscription.updated")
#: The name the grant's result is recorded under on each event row (keep it stable).
GRANT_SEATS = "remit.sandbox.grant_seats"
#: Seats an account gets when its subscription says nothing.
DEFAULT_SEATS = 1

_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")


class SeatsUnreadable(PermanentFailure):
    """A subscription's ``metadata.seats`` is not a positive whole number; only a person can fix that."""


def seats_of(subscription: Mapping[str, Any]) -> int:
    """The seats ``subscription`` grants: ``metadata.seats`` (surrounding spaces forgiven), else
    :data:`DEFAULT_SEATS`; :class:`SeatsUnreadable` when it is set to anything but a positive whole number.

    The message names the subscription and the field, never the value: metadata is free text a person typed,
    and may hold anything.
    """
    metadata = subscription.get("metadata")
    raw = metadata.get("seats") if isinstance(metadata, Mapping) else None
    if raw is None:
        return DEFAULT_SEATS
    text = raw.strip() if isinstance(raw, str) else ""
    if _WHOLE_NUMBER.fullmatch(text) and int(text) > 0:
        return int(text)
    subscription_id = subscription.get("id")
    named = subscription_id if isinstance(subscription_id, str) else "(without id)"
    raise SeatsUnreadable(
        f"subscription {named}: metadata.seats is not a positive whole number; "
        "correct it at the processor, then replay this event"
    )


__all__ = ["DEFAULT_SEATS", "GRANT_SEATS", "SEATS_EVENT_TYPES", "SeatsUnreadable", "seats_of"]
