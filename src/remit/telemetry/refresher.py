"""Keeps the database-derived gauges fresh in the background while someone reads them.

Counting jobs by queue and state reads the whole jobs table (finished jobs included: nothing indexes state in
general, on purpose, see :mod:`remit.db.tables.jobs`), so a scrape that ran every collector in the request took
hundreds of milliseconds on a table of 100,000 jobs, and the admin overview paid the same for its queue table.
A :class:`Refresher` runs :func:`remit.telemetry.collectors.collect` at most once per ``interval``
(``REMIT_METRICS_REFRESH_SECONDS``) in a task of its own, and ``GET /metrics`` and the overview take what it
collected last — one computation shared by every scrape and every view of the process.

Why a refresher and not counters kept in the jobs' own transactions: a counter row per queue and state would
be written by every claim and every completion, a hot row that serialises the workers (the engine's
throughput is what issue 2 measures); and unlike a request-driven cache, a loop that collects ahead keeps
Prometheus's every-15-seconds scrapes from ever waiting. The loop runs only while it is asked for: the first
read (a scrape, an overview) collects in the request and starts it; it stops after ``idle_after`` seconds
without a read, so an idle ``remit serve`` reads nothing. What a reader gets is at most ``interval`` seconds
old (plus one collection); when the last collection is older than twice that (the loop stalled, or it just
stopped), the reader waits for a fresh one. ``interval`` 0 collects on every read, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger("remit.telemetry.refresher")

#: The loop stops after this many intervals without a read.
IDLE_INTERVALS = 10


@dataclass
class Refresher:
    """Runs ``collect`` at most once per ``interval`` seconds in the background while it is read (see the
    module docs); single-flight, so concurrent readers share one collection."""

    collect: Callable[[], Awaitable[None]]
    interval: float
    clock: Callable[[], float] = time.monotonic
    _at: float | None = field(default=None, init=False, repr=False)
    _last_read: float = field(default=0.0, init=False, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    @property
    def idle_after(self) -> float:
        return self.interval * IDLE_INTERVALS

    def age(self) -> float | None:
        """Seconds since the last collection finished (None: never)."""
        return None if self._at is None else self.clock() - self._at

    async def fresh(self) -> None:
        """Make sure the gauges are recent enough to serve: collect now when the last collection is older than
        twice the interval (or there is none, or the interval is 0), and keep the loop running."""
        self._last_read = self.clock()
        age = self.age()
        if self.interval <= 0 or age is None or age >= 2 * self.interval:
            await self._collect_once(stale_after=0 if self.interval <= 0 else 2 * self.interval)
        if self.interval > 0 and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="remit-metrics-refresher")

    async def _collect_once(self, *, stale_after: float) -> None:
        async with self._lock:
            age = self.age()
            if stale_after > 0 and age is not None and age < stale_after:
                return  # another reader collected while this one waited for the lock
            await self.collect()
            self._at = self.clock()

    async def _loop(self) -> None:
        while self.clock() - self._last_read < self.idle_after:
            age = self.age()
            await asyncio.sleep(max(0.0, self.interval - (age if age is not None else self.interval)))
            try:
                await self._collect_once(stale_after=self.interval)
            except Exception as exc:  # collect() skips a broken collector; anything else must not end the loop
                log.warning("metrics refresh failed", extra={"error_type": type(exc).__name__})
                await asyncio.sleep(self.interval)

    async def close(self) -> None:
        """Stop the loop (at shutdown)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None


__all__ = ["IDLE_INTERVALS", "Refresher"]
