"""Scrape-time collectors: the gauges that describe the database, refreshed just before each scrape.

Queue depth, the age of the oldest due job and the live workers are rows in the database, not events in a
process, so a counter cannot keep them; a collector queries them when Prometheus asks. ``GET /metrics``
(:mod:`remit.api.metrics`) only awaits :func:`collect` and serves the registry. A part that owns such a
gauge (the webhook backlog, the flags, the provisioning stuck gauge) lists its collector in its ``PART``
(``Part(collectors=(...))``): :func:`collect` runs the runtime's parts' collectors after the engine's. A host
may also add one with :func:`add_collector`.

Each collector gets a time budget (:data:`COLLECTOR_TIMEOUT_S`); one that fails or runs over is logged
with its error type and skipped, so one broken gauge, or a database that stopped answering, never hides
every other metric.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from remit.clock import Clock
from remit.config import Settings
from remit.db.engine import Database

log = logging.getLogger("remit.telemetry.collectors")

#: A collector that takes longer (a database that stopped answering) is skipped for this scrape.
COLLECTOR_TIMEOUT_S = 2.0


class GaugeRefresher(Protocol):
    """What refreshes the job engine's gauges (:class:`remit.jobs.engine.Engine`)."""

    async def refresh_metrics(self) -> None: ...


class Source(Protocol):
    """What a collector reads: the settings, the database, the clock and the job engine (a
    :class:`remit.runtime.Runtime`)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def engine(self) -> GaugeRefresher: ...

    @property
    def parts(self) -> Sequence[Any]:
        """The parts the runtime was composed from (each with its ``collectors``)."""
        ...


Collector = Callable[[Any], Awaitable[None]]
"""``await collector(source)``: ``source`` is the runtime (a :class:`Source`); a part's collector may read
whatever else the runtime holds."""


async def job_gauges(source: Source) -> None:
    """The job engine's gauges: depth by state, oldest due job, paused flags, live workers (the engine reads
    them; this module stays below it)."""
    await source.engine.refresh_metrics()


_collectors: list[Collector] = [job_gauges]


def add_collector(collector: Collector) -> Callable[[], None]:
    """Run ``await collector(source)`` before every scrape, after the others; returns a remover."""
    _collectors.append(collector)
    return lambda: _collectors.remove(collector)


def collectors(source: Source | None = None) -> list[Collector]:
    """The collectors :func:`collect` runs for ``source``, in order: the added ones, then its parts'."""
    parts = source.parts if source is not None else ()
    return [*_collectors, *(collector for part in parts for collector in getattr(part, "collectors", ()))]


async def collect(source: Source) -> None:
    """Run every collector within its budget; a failure is logged (its type only) and skipped."""
    for collector in collectors(source):
        try:
            await asyncio.wait_for(collector(source), timeout=COLLECTOR_TIMEOUT_S)
        except Exception as exc:  # one broken gauge must not fail the whole scrape
            log.warning(
                "metrics collector failed",
                extra={"collector": getattr(collector, "__qualname__", "?"), "error_type": type(exc).__name__},
            )


__all__ = [
    "COLLECTOR_TIMEOUT_S",
    "Collector",
    "GaugeRefresher",
    "Source",
    "add_collector",
    "collect",
    "collectors",
    "job_gauges",
]
