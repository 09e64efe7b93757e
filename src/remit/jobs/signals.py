"""What a running job may raise to end its run other than by returning or failing.

:class:`Snooze` (run again later, no attempt spent), :class:`Cancel` (nothing to do: cancelled, no hooks) and
:class:`Discard` (no retry can succeed: discarded now, with its hooks). They depend on nothing, so a job
module, the job context and the worker all import them without importing each other.
"""

from __future__ import annotations


class Snooze(Exception):
    """Raised by a job to run again after ``seconds`` without spending an attempt (e.g. on HTTP 429)."""

    def __init__(self, seconds: float, reason: str = "snoozed") -> None:
        self.seconds = max(0.0, float(seconds))
        self.reason = reason
        super().__init__(f"{reason}; again in {self.seconds:g}s")


class Cancel(Exception):
    """Raised by a job to stop for good: the job is cancelled, not retried."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class Discard(Exception):
    """Raised by a job to give up now because no retry can succeed (the input itself is wrong): the job is
    ``discarded`` at once instead of spending its remaining attempts, ``reason`` is kept in its errors as a
    failure's message would be, and its discard hooks run — unlike :class:`Cancel`, which means "nothing
    to do" and fires no hook. ``reason`` is stored and shown to operators: identifiers only."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


__all__ = ["Cancel", "Discard", "Snooze"]
