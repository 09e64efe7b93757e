"""The transactional mails remit sends, the business events behind them, and their idempotency keys (pure).

One :class:`MailKind` per business event a customer (or the operator) hears about. A mail's key names the
event, not the webhook that told remit about it — ``receipt:in_123`` however many times ``invoice.paid`` for
that invoice is delivered, replayed or retried — so the mail log (unique on the key) sends it once.
:func:`mail_for_event` decides, from a processor event, which mail it owes, if any.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

#: The longest key the mail log holds; longer ones keep a readable head and a digest of the whole.
MAX_KEY_LENGTH = 255

#: Values a mail request may carry into the log (and from there into its template): identifiers, numbers.
ParamValue = str | int | bool | None


class MailKind(StrEnum):
    """A kind of transactional mail; its value names its templates (``mail/<kind>.html`` …)."""

    RECEIPT = "receipt"
    PAYMENT_FAILED = "payment_failed"
    ACTION_REQUIRED = "action_required"
    TRIAL_ENDING = "trial_ending"
    CARD_EXPIRING = "card_expiring"
    SUBSCRIPTION_CANCELLED = "subscription_cancelled"
    REFUND_ISSUED = "refund_issued"
    DISPUTE_OPENED = "dispute_opened"


class Audience(StrEnum):
    """Who a kind of mail goes to: the customer the object belongs to, or the operator (``REMIT_MAIL_OPERATOR``)."""

    CUSTOMER = "customer"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class KindSpec:
    """What one kind is about: the processor object its subject id names, the event that triggers it (None:
    requested by other code, such as the expiring-card task), and its audience."""

    kind: MailKind
    subject_type: str
    trigger: str | None
    audience: Audience = Audience.CUSTOMER


SPECS: dict[MailKind, KindSpec] = {
    spec.kind: spec
    for spec in (
        KindSpec(MailKind.RECEIPT, "invoice", "invoice.paid"),
        KindSpec(MailKind.PAYMENT_FAILED, "invoice", "invoice.payment_failed"),
        KindSpec(MailKind.ACTION_REQUIRED, "invoice", "invoice.payment_action_required"),
        KindSpec(MailKind.TRIAL_ENDING, "subscription", "customer.subscription.trial_will_end"),
        KindSpec(MailKind.CARD_EXPIRING, "payment_method", None),
        KindSpec(MailKind.SUBSCRIPTION_CANCELLED, "subscription", "customer.subscription.deleted"),
        KindSpec(MailKind.REFUND_ISSUED, "charge", "charge.refunded"),
        KindSpec(MailKind.DISPUTE_OPENED, "dispute", "charge.dispute.created", Audience.OPERATOR),
    )
}

#: The processor events that owe a mail, and which.
TRIGGERS: dict[str, MailKind] = {spec.trigger: spec.kind for spec in SPECS.values() if spec.trigger}


def mail_key(kind: MailKind, subject_id: str, occurrence: str | None = None) -> str:
    """``<kind>:<subject id>[:<occurrence>]`` — the business event a mail is about. ``occurrence`` tells
    apart events of one subject that each deserve a mail (the second failed payment attempt, the 7-day
    notice after the 30-day one)."""
    key = f"{kind.value}:{subject_id}" + (f":{occurrence}" if occurrence else "")
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: MAX_KEY_LENGTH - len(digest) - 1]}~{digest}"


@dataclass(frozen=True, slots=True)
class MailRequest:
    """One mail owed, before it is in the log. ``params`` are identifiers and numbers the template may use
    (never an address or a name: those are read when the mail is built, and go to the mail server only)."""

    kind: MailKind
    subject_id: str
    occurrence: str | None = None
    customer_id: str | None = None
    params: Mapping[str, ParamValue] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return mail_key(self.kind, self.subject_id, self.occurrence)

    @property
    def spec(self) -> KindSpec:
        return SPECS[self.kind]


def _id(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping):
        return _id(value.get("id"))
    return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def mail_for_event(event_type: str, obj: Mapping[str, Any]) -> MailRequest | None:
    """The mail a processor event of ``event_type`` about ``obj`` (its ``data.object``) owes, or None.

    A paid invoice of nothing (a trial's first invoice) gets no receipt; an event whose object has no id
    owes nothing (there would be no key to send it once under)."""
    kind = TRIGGERS.get(event_type)
    subject_id = _id(obj.get("id"))
    if kind is None or subject_id is None:
        return None
    customer_id = _id(obj.get("customer"))
    if kind is MailKind.RECEIPT:
        if not _int(obj.get("amount_paid")):
            return None
        return MailRequest(kind, subject_id, customer_id=customer_id)
    if kind in (MailKind.PAYMENT_FAILED, MailKind.ACTION_REQUIRED):
        attempt = _int(obj.get("attempt_count")) or 1
        return MailRequest(kind, subject_id, str(attempt), customer_id, {"attempt": attempt})
    if kind is MailKind.TRIAL_ENDING:
        trial_end = _int(obj.get("trial_end"))
        return MailRequest(kind, subject_id, str(trial_end or ""), customer_id, {"trial_end": trial_end})
    if kind is MailKind.REFUND_ISSUED:
        # Each refund raises amount_refunded: a second, partial refund is a new business event.
        refunded = _int(obj.get("amount_refunded")) or 0
        return MailRequest(kind, subject_id, str(refunded), customer_id, {"amount_refunded": refunded})
    if kind is MailKind.DISPUTE_OPENED:
        return MailRequest(kind, subject_id, customer_id=customer_id, params={"charge_id": _id(obj.get("charge"))})
    return MailRequest(kind, subject_id, customer_id=customer_id)


__all__ = [
    "MAX_KEY_LENGTH",
    "SPECS",
    "TRIGGERS",
    "Audience",
    "KindSpec",
    "MailKind",
    "MailRequest",
    "ParamValue",
    "mail_for_event",
    "mail_key",
]
