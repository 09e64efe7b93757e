"""Billing: the mirror of the processor's objects and the projections that keep it right.

- :mod:`remit.billing.projection` — :func:`apply_event`, the default webhook handler (watermarked upserts);
- :mod:`remit.billing.routing` — which mirror write an event implies (pure);
- :mod:`remit.billing.kinds` — the mirrored object types, their filter columns and version hints (pure);
- :mod:`remit.billing.watermark` — the ordering rule for events of one object (pure);
- :mod:`remit.billing.refetch` — completing truncated child lists from the processor;
- :mod:`remit.billing.mirror` — reading the mirror, paged like the processor's own lists.

See ``docs/mirror.md``.
"""

from remit.billing.mirror import MirrorRecord, Page, UnknownCursor, get_object, list_objects
from remit.billing.projection import ApplyResult, ApplyStatus, apply_event
from remit.billing.routing import MalformedEvent

__all__ = [
    "ApplyResult",
    "ApplyStatus",
    "MalformedEvent",
    "MirrorRecord",
    "Page",
    "UnknownCursor",
    "apply_event",
    "get_object",
    "list_objects",
]
