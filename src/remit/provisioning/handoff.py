"""What a checkout session owes provisioning, decided without I/O.

:func:`is_paid` says whether an event settles its session (a paid ``checkout.session.completed``, or
``checkout.session.async_payment_succeeded`` for a delayed method; an unpaid completion waits for the latter).
:func:`decide` turns the session (and the package a price maps to, which the caller looked up) into a
:class:`Handoff`: the account it provisions and the exact trigger payload — identifiers and the quota only,
never an address or a name — or, when the package cannot be known, no payload and the reason. Never a guess:
a wrong slug would mint the wrong quota.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from remit.billing.packages import Package

PAID_EVENT_TYPES = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
#: remit's own checkout action writes these into the session's metadata.
ACCOUNT_KEY = "remit_account_id"
PACKAGE_KEY = "remit_package"
#: ``origin`` of a job: a checkout remit created, or one made outside remit (no remit metadata).
ORIGIN_REMIT = "remit"
ORIGIN_EXTERNAL = "external"


def is_paid(event_type: str, session: Mapping[str, Any]) -> bool:
    """Whether this event means the session's money is settled."""
    if event_type == "checkout.session.async_payment_succeeded":
        return True
    if event_type == "checkout.session.completed":
        return session.get("payment_status") in ("paid", "no_payment_required")
    return False


@dataclass(frozen=True, slots=True)
class Handoff:
    session_id: str
    account_id: str | None
    customer_id: str | None
    origin: str
    package: Package | None
    payload: dict[str, Any] | None
    error: str | None


def metadata_of(session: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = session.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def wanted_slug(session: Mapping[str, Any]) -> str | None:
    """The package slug remit's checkout action put on the session, if any."""
    slug = metadata_of(session).get(PACKAGE_KEY)
    return slug if isinstance(slug, str) and slug else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def decide(session: Mapping[str, Any], package: Package | None, *, slug_asked: str | None) -> Handoff:
    """The hand-off for ``session``. ``package`` is the one its metadata's slug (``slug_asked``) or, for a
    checkout made outside remit, its price resolved to, or None when neither resolved."""
    session_id = str(session["id"])
    customer_id = _text(session.get("customer"))
    remit_account = _text(metadata_of(session).get(ACCOUNT_KEY))
    origin = ORIGIN_REMIT if remit_account else ORIGIN_EXTERNAL
    account_id = remit_account or customer_id
    if package is None:
        if slug_asked:
            error = f"package_unknown: the checkout names package {slug_asked!r}, which is not configured"
        else:
            error = "package_unresolved: the checkout's price maps to no configured package"
        return Handoff(session_id, account_id, customer_id, origin, None, None, error)
    if account_id is None:
        error = "account_unresolved: the checkout carries neither remit's account id nor a customer"
        return Handoff(session_id, None, customer_id, origin, package, None, error)
    payload = {
        "stripe_session_id": session_id,
        "account_id": account_id,
        "package_slug": package.slug,
        "tokens_quota": package.tokens_quota,
        "customer_id": customer_id,
    }
    return Handoff(session_id, account_id, customer_id, origin, package, payload, None)


__all__ = [
    "ACCOUNT_KEY",
    "ORIGIN_EXTERNAL",
    "ORIGIN_REMIT",
    "PACKAGE_KEY",
    "PAID_EVENT_TYPES",
    "Handoff",
    "decide",
    "is_paid",
    "metadata_of",
    "wanted_slug",
]
