"""An injectable clock.

Everything in remit that needs "now" asks a :class:`Clock`, never ``datetime.now()`` directly, so that tests
and the fake processor can move time forward deterministically.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date or time (``Z`` or an offset; none means UTC) as an aware datetime.

    One reading for every instant remit takes as text — an event's ``created``, an option like ``--since``, a
    time stored in JSON — so a naive value means UTC everywhere. Raises :class:`ValueError` on anything else.
    """
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Clock(Protocol):
    """Tells the current time, always as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to; for tests and the fake processor's world."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        """Move time forward by ``delta`` (seconds when a number) and return the new now."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        with self._lock:
            self._now += step
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when


system_clock = SystemClock()
