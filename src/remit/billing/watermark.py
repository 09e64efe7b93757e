"""The watermark: which of two events carries the newer state of one object.

Stripe objects carry no version number, and events can arrive late, twice, or out of order. Each mirror row
remembers the watermark of the event that wrote it, and an event only replaces the row when its watermark is
greater. Watermarks compare as the tuple

    (event created, object version hint, phase, event id)

1. **event created** — the second Stripe created the event. Different seconds decide everything.
2. **object version hint** — within one second, a number computed from fields of the object that Stripe only
   ever moves forward (an invoice's status draft → open → paid, a charge's refunded amount, a subscription's
   current period start, a product's ``updated``; see :mod:`remit.billing.kinds`). An event showing a later
   stage of the object wins even when it was delivered first.
3. **phase** — ``created`` events (0) precede updates (1), which precede deletions (2).
4. **event id** — the last resort, so that the order is total and every worker decides the same way.
   Stripe ids are not ordered in time; a tie at this level (two same-second updates that change no
   monotone field) is decided arbitrarily but deterministically, and the next event for the object heals it.

Equal watermarks mean the same event: applying it again is a no-op. The database compares the same tuple in
the upsert's ``WHERE``, so this module is the specification the SQL in :mod:`remit.billing.projection`
follows, and the tests check both agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any


class Phase(IntEnum):
    """Where in an object's life an event type sits, for events within one second."""

    CREATED = 0
    UPDATED = 1
    DELETED = 2


def phase_of(event_type: str, *, deleting: bool) -> Phase:
    if deleting:
        return Phase.DELETED
    if event_type.endswith(".created"):
        return Phase.CREATED
    return Phase.UPDATED


@dataclass(frozen=True, slots=True, order=True)
class Watermark:
    """The ordering key of one event for one object; dataclass ordering is the tuple order above."""

    event_created: datetime
    hint: int
    phase: int
    event_id: str

    def is_newer_than(self, other: Watermark | None) -> bool:
        return other is None or self > other

    @classmethod
    def from_row(cls, row: Any) -> Watermark:
        return cls(
            event_created=row["watermark_created"],
            hint=int(row["watermark_hint"]),
            phase=int(row["watermark_phase"]),
            event_id=row["watermark_event_id"],
        )

    def columns(self) -> dict[str, Any]:
        """The values of the ``watermark_*`` columns."""
        return {
            "watermark_created": self.event_created,
            "watermark_hint": self.hint,
            "watermark_phase": self.phase,
            "watermark_event_id": self.event_id,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "event_created": int(self.event_created.timestamp()),
            "version_hint": self.hint,
            "phase": _phase_name(self.phase),
        }


def _phase_name(value: int) -> str:
    try:
        return Phase(value).name.lower()
    except ValueError:
        return str(value)


__all__ = ["Phase", "Watermark", "phase_of"]
