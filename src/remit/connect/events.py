"""Stripe Connect events an operator must hear about, read by pure functions from the event payload.

- ``account.application.deauthorized``: a connected account disconnected the platform; remit can no longer
  act for it (charges, payouts, refunds on that account fail from now on).
- ``account.updated`` that *loses* a capability: a capability (``card_payments``, ``transfers`` …) that was
  ``active`` before is not any more, or ``charges_enabled``/``payouts_enabled`` went from true to false. Stripe
  sends ``account.updated`` for every change; :func:`lost_capabilities` compares ``data.object`` with
  ``data.previous_attributes`` (which holds the old values of what changed) so only a loss counts.
- ``payout.failed``: a payout to a bank account or card failed; the money is back in the balance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEAUTHORIZED = "account.application.deauthorized"
ACCOUNT_UPDATED = "account.updated"
PAYOUT_FAILED = "payout.failed"

CONNECT_EVENT_TYPES: tuple[str, ...] = (DEAUTHORIZED, ACCOUNT_UPDATED, PAYOUT_FAILED)

#: Account booleans whose change from true to false is a lost capability, with the name it is reported as.
ENABLED_FLAGS = {"charges_enabled": "charges", "payouts_enabled": "payouts"}
ACTIVE = "active"


@dataclass(frozen=True, slots=True)
class LostCapability:
    """A capability the account had before this update and has no longer: its name and its status now."""

    capability: str
    status: str


def _status(value: Any) -> str | None:
    """A capability's status: a string (the API's shape) or ``{"status": …}`` (the expanded object)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("status"), str):
        return str(value["status"])
    return None


def lost_capabilities(account: Mapping[str, Any], previous: Mapping[str, Any]) -> list[LostCapability]:
    """Capabilities active before this update and not active now, sorted by name (pure).

    Only what ``previous`` names changed; a capability missing from the account now counts as ``inactive``.
    """
    lost: list[LostCapability] = []
    before = previous.get("capabilities")
    now = account.get("capabilities") if isinstance(account.get("capabilities"), Mapping) else {}
    if isinstance(before, Mapping):
        for name, old in before.items():
            current = _status(now.get(name)) if isinstance(now, Mapping) else None
            if _status(old) == ACTIVE and current != ACTIVE:
                lost.append(LostCapability(str(name), current or "inactive"))
    for field, name in ENABLED_FLAGS.items():
        if previous.get(field) is True and account.get(field) is not True:
            lost.append(LostCapability(name, "disabled"))
    return sorted(lost, key=lambda item: item.capability)


def account_of(payload: Mapping[str, Any]) -> str | None:
    """The connected account an event is about: the envelope's ``account`` (events of connected accounts carry
    it), else the account object's own id for ``account.*`` events (pure)."""
    account = payload.get("account")
    if isinstance(account, str) and account:
        return account
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if isinstance(obj, Mapping) and obj.get("object") == "account" and isinstance(obj.get("id"), str):
        return str(obj["id"])
    return None


__all__ = [
    "ACCOUNT_UPDATED",
    "CONNECT_EVENT_TYPES",
    "DEAUTHORIZED",
    "PAYOUT_FAILED",
    "LostCapability",
    "account_of",
    "lost_capabilities",
]
