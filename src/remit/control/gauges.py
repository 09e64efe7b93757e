"""The control part's scrape-time gauges: each runtime flag, whether an emergency stop is in force, and whether
the processor's credentials are marked expired.

Read from the database before each ``GET /metrics``, so the alerts ("billing switched off for longer than 30
minutes", "processor credentials expired") see what every process obeys, whichever process or operator
changed it.
"""

from __future__ import annotations

from remit.flags import read_switches
from remit.processor import credentials
from remit.runtime import Runtime
from remit.telemetry import metrics


async def flag_gauges(runtime: Runtime) -> None:
    """Set ``remit_flag_enabled{flag}``, ``remit_emergency_stop`` (and its start time) and
    ``remit_processor_credentials_expired`` from the database."""
    async with runtime.db.read() as conn:
        switches = await read_switches(conn, runtime.settings)
        expiry = await credentials.current(conn, runtime.processor.name)
    for name, state in switches.flags.items():
        metrics.flag_enabled.labels(flag=name).set(1 if state.enabled else 0)
    metrics.emergency_stop.set(1 if switches.stop else 0)
    metrics.emergency_stop_since_timestamp_seconds.set(switches.stop.since.timestamp() if switches.stop else 0)
    metrics.processor_credentials_expired.set(0 if expiry is None else 1)


__all__ = ["flag_gauges"]
