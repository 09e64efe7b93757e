"""From a processor event to the mirror write it implies — pure, no I/O.

:func:`route` reads an event envelope and answers either a :class:`Target` (which table, which object, its
state, whether the event deletes it, and the event's watermark) or an :class:`Ignored` (the object is not one
remit mirrors, or has no id, as an upcoming invoice has none).

The object's own ``object`` field names its type, so an event whose type suggests one object but carries
another (``invoice.updated`` holding an ``invoice_payment``) is judged by what it carries. Objects that lack
the field (some older charge payloads) are typed from the event type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from remit.billing.fields import boolean, list_data, timestamp
from remit.billing.kinds import KINDS, ObjectKind
from remit.billing.watermark import Phase, Watermark, phase_of
from remit.errors import PermanentFailure

#: Event types that mean the object is gone for good at the processor (detaching a payment method is final:
#: Stripe never lets a detached one be attached again; a deleted subscription is canceled and stays so).
DELETING_EVENT_TYPES = frozenset(
    {
        "customer.deleted",
        "customer.subscription.deleted",
        "invoice.deleted",
        "payment_method.detached",
        "price.deleted",
        "product.deleted",
    }
)

#: Event type prefixes and the object they carry, for payloads without an ``object`` field; the first
#: matching prefix wins, ``None`` means "not mirrored" (card sources, discounts, tax ids).
EVENT_TYPE_OBJECTS: tuple[tuple[str, str | None], ...] = (
    ("customer.subscription.", "subscription"),
    ("customer.source.", None),
    ("customer.discount.", None),
    ("customer.tax_id.", None),
    ("customer.", "customer"),
    ("charge.dispute.", "dispute"),
    ("charge.refund.", "refund"),
    ("charge.", "charge"),
    ("refund.", "refund"),
    ("invoice.", "invoice"),
    ("payment_method.", "payment_method"),
    ("checkout.session.", "checkout.session"),
    ("product.", "product"),
    ("price.", "price"),
)


#: The keys of the stub Stripe answers for a deleted object; such a payload says nothing about the object.
STUB_KEYS = frozenset({"id", "object", "deleted"})
#: The ``object`` of Stripe's thin (v2) events: a reference to an object, never a snapshot of it.
THIN_EVENT_OBJECT = "v2.core.event"


class MalformedEvent(PermanentFailure):
    """An event envelope without the id or creation time a watermark needs; it cannot be ordered, and no
    retry changes that, so dispatch dead-letters it at once."""


@dataclass(frozen=True, slots=True)
class Target:
    """One mirror row to write: an object, its state as of ``watermark``, and whether it is deleted."""

    kind: ObjectKind
    stripe_id: str
    data: Mapping[str, Any]
    deleting: bool
    livemode: bool
    watermark: Watermark

    @property
    def is_stub(self) -> bool:
        """A bare deletion stub (``{"id": …, "object": …, "deleted": true}``) rather than the full object."""
        return self.deleting and set(self.data) <= STUB_KEYS

    @property
    def created(self) -> Any:
        """The object's creation time, or the event's when the object does not say."""
        return timestamp(self.data.get("created")) or self.watermark.event_created


#: The longest object type and id an :class:`Ignored` carries into the event's stored handler results.
MAX_SHOWN_TYPE = 64
MAX_SHOWN_ID = 255


def shown(value: Any, limit: int) -> str | None:
    """``value`` if it is a string that can be stored and shown (at most ``limit`` characters, no NUL)."""
    return value if isinstance(value, str) and 0 < len(value) <= limit and "\x00" not in value else None


@dataclass(frozen=True, slots=True)
class Ignored:
    """An event that changes nothing in the mirror, and why. Its type and id are recorded in the event's
    handler results, so only values :func:`shown` lets through are kept."""

    reason: str
    object_type: str | None = None
    object_id: str | None = None


def object_name(event_type: str, obj: Mapping[str, Any]) -> str | None:
    named = obj.get("object")
    if isinstance(named, str):
        return named
    for prefix, name in EVENT_TYPE_OBJECTS:
        if event_type.startswith(prefix):
            return name
    return None


def event_watermark_parts(event: Mapping[str, Any]) -> tuple[str, Any]:
    """The event's id and creation time; :class:`MalformedEvent` when either is missing."""
    event_id = event.get("id")
    created = timestamp(event.get("created"))
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255 or created is None:
        raise MalformedEvent("event has no usable id or created time")
    return event_id, created


def route(event: Mapping[str, Any]) -> Target | Ignored:
    """What ``event`` means for the mirror."""
    if event.get("object") == THIN_EVENT_OBJECT:
        return _thin(event)
    event_id, created = event_watermark_parts(event)
    event_type = event.get("type") if isinstance(event.get("type"), str) else ""
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(obj, Mapping):
        return Ignored("no_object")
    name = object_name(str(event_type), obj)
    stripe_id = obj.get("id")
    # An id the mirror cannot store (too long, a NUL) still routes: the projection refuses it by name, so the
    # event is dead-lettered saying why instead of being ignored in silence.
    stripe_id = stripe_id if isinstance(stripe_id, str) and stripe_id else None
    kind = KINDS.get(name or "")
    if kind is None:
        return Ignored("not_mirrored", shown(name, MAX_SHOWN_TYPE), shown(stripe_id, MAX_SHOWN_ID))
    if stripe_id is None:
        return Ignored("no_object_id", shown(name, MAX_SHOWN_TYPE))
    deleting = event_type in DELETING_EVENT_TYPES or obj.get("deleted") is True
    livemode = boolean(obj.get("livemode"))
    if livemode is None:
        livemode = event.get("livemode") is True
    phase = phase_of(str(event_type), deleting=deleting)
    return Target(kind, stripe_id, obj, deleting, livemode, Watermark(created, kind.hint(obj), phase, event_id))


def _thin(event: Mapping[str, Any]) -> Ignored:
    """A thin (v2) event is a reference without a snapshot: nothing to project, whatever it names."""
    related = event.get("related_object")
    related = related if isinstance(related, Mapping) else {}
    kind, object_id = related.get("type"), related.get("id")
    return Ignored("thin_event", shown(kind, MAX_SHOWN_TYPE), shown(object_id, MAX_SHOWN_ID))


def embedded_targets(target: Target) -> list[Target]:
    """First-class objects embedded in ``target``'s lists (a charge's refunds), at the same event's watermark."""
    found: list[Target] = []
    for field_name, kind_name in target.kind.embedded:
        listed = list_data(target.data.get(field_name))
        kind = KINDS[kind_name]
        for item in listed[0] if listed else []:
            item_id = item.get("id")
            if not isinstance(item_id, str) or not item_id:
                continue  # an id too long or with a NUL is refused by the projection, naming it
            watermark = Watermark(
                target.watermark.event_created, kind.hint(item), Phase.UPDATED, target.watermark.event_id
            )
            livemode = boolean(item.get("livemode"))
            found.append(
                Target(
                    kind,
                    item_id,
                    item,
                    item.get("deleted") is True,
                    target.livemode if livemode is None else livemode,
                    watermark,
                )
            )
    return found


__all__ = [
    "DELETING_EVENT_TYPES",
    "THIN_EVENT_OBJECT",
    "Ignored",
    "MalformedEvent",
    "Target",
    "embedded_targets",
    "object_name",
    "route",
]
