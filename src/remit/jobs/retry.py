"""The retry policy: exponential backoff with jitter, as a pure function.

``delay(attempt) = min(cap, base * factor ** (attempt - 1))``, then spread by ``±jitter`` of itself using a
random number the caller supplies (so tests pass a fixed one). With the defaults (base 1 s, factor 2, cap one
hour, jitter 10 %) attempts wait about 1, 2, 4, 8 … seconds, and never more than an hour and six minutes.
Jitter keeps a thousand jobs that failed together from retrying in lockstep against the same processor.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long to wait before the next attempt; ``attempt`` is the 1-based attempt that just failed."""

    base: float = 1.0
    factor: float = 2.0
    cap: float = 3600.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.base < 0 or self.factor < 1 or self.cap < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("backoff needs base >= 0, factor >= 1, cap >= 0 and 0 <= jitter <= 1")

    def delay(self, attempt: int, rand: float | None = None) -> float:
        """Seconds to wait after ``attempt`` failed; ``rand`` in [0, 1) picks the jitter (random if None)."""
        return backoff_delay(attempt, self, random.random() if rand is None else rand)


def backoff_delay(attempt: int, policy: Backoff, rand: float) -> float:
    """Pure form of :meth:`Backoff.delay`."""
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    exponent = min(attempt - 1, 64)  # beyond this the cap has long been reached
    raw = min(policy.cap, policy.base * policy.factor**exponent)
    spread = raw * policy.jitter * (2 * rand - 1)
    return max(0.0, raw + spread)


DEFAULT_BACKOFF = Backoff()
