"""Upcasters: functions that turn a ledger event's data from schema version n into version n + 1.

Ledger rows are never rewritten (the database refuses it), so when the shape of an event type's data changes,
old rows stay in their old shape and are brought to the current one when read. Each step is one small pure
function registered for ``(event type, from_version)``::

    @upcaster("webhook.received", from_version=1)
    def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "endpoint": data.get("endpoint", "stripe")}

The current version of a type is one more than the highest step registered for it (1 with none). A stored
version outside ``1..current`` (written by a newer release) or a missing step in the chain (a gap) cannot be
read safely, and raises :class:`~remit.errors.UpcastError` instead of returning data of the wrong shape.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from remit.errors import UpcastError

Data = dict[str, Any]
Upcaster = Callable[[Data], Data]


class UpcasterRegistry:
    """The upcasting steps known to this release, by event type and the version they start from."""

    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], Upcaster] = {}

    def register(self, event_type: str, from_version: int, fn: Upcaster) -> None:
        """Add the step from ``from_version`` to ``from_version + 1``; a second step for the same pair is a bug."""
        if from_version < 1:
            raise ValueError("schema versions start at 1")
        key = (event_type, from_version)
        if key in self._steps:
            raise ValueError(f"an upcaster for {event_type} v{from_version} is already registered")
        self._steps[key] = fn

    def upcaster(self, event_type: str, *, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator form of :meth:`register`."""

        def decorate(fn: Upcaster) -> Upcaster:
            self.register(event_type, from_version, fn)
            return fn

        return decorate

    def unregister(self, event_type: str, from_version: int) -> None:
        """Remove a step (tests that register temporary steps on the default registry clean up with this)."""
        self._steps.pop((event_type, from_version), None)

    def current_version(self, event_type: str) -> int:
        """The version new events of ``event_type`` are written in, and old ones are read up to."""
        versions = [version for (kind, version) in self._steps if kind == event_type]
        return max(versions, default=0) + 1

    def upcast(self, event_type: str, version: int, data: Data) -> Data:
        """``data`` brought from ``version`` to the current version; the input is not modified.

        Raises :class:`UpcastError` for a version this release does not know (newer than current, below 1)
        or a chain with a missing step.
        """
        current = self.current_version(event_type)
        if version < 1 or version > current:
            raise UpcastError(f"{event_type} schema version {version} is unknown (this release reads 1..{current})")
        result = copy.deepcopy(data)
        for step in range(version, current):
            fn = self._steps.get((event_type, step))
            if fn is None:
                raise UpcastError(f"{event_type} has no upcaster from schema version {step} (a gap in the chain)")
            result = fn(result)
        return result


#: The registry :func:`remit.ledger.record` and :func:`remit.ledger.read` use unless given another.
default_registry = UpcasterRegistry()

#: ``@upcaster("type", from_version=n)`` registers on :data:`default_registry`.
upcaster = default_registry.upcaster

__all__ = ["Data", "Upcaster", "UpcasterRegistry", "default_registry", "upcaster"]
