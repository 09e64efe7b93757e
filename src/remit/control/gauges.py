"""The control part's scrape-time gauges: each runtime flag, and whether an emergency stop is in force.

Read from ``remit_flags`` before each ``GET /metrics``, so the alert "billing switched off for longer than
30 minutes" sees what every process obeys, whichever process or operator changed it.
"""

from __future__ import annotations

from remit.flags import read_switches
from remit.runtime import Runtime
from remit.telemetry import metrics


async def flag_gauges(runtime: Runtime) -> None:
    """Set ``remit_flag_enabled{flag}``, ``remit_emergency_stop`` and its start time from the database."""
    async with runtime.db.read() as conn:
        switches = await read_switches(conn, runtime.settings)
    for name, state in switches.flags.items():
        metrics.flag_enabled.labels(flag=name).set(1 if state.enabled else 0)
    metrics.emergency_stop.set(1 if switches.stop else 0)
    metrics.emergency_stop_since_timestamp_seconds.set(switches.stop.since.timestamp() if switches.stop else 0)


__all__ = ["flag_gauges"]
