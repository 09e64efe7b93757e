"""The usage part's scrape-time gauges: records by status, the oldest unreported record's age, and how many
records the rollups have yet to count."""

from __future__ import annotations

import sqlalchemy as sa

from remit.db.tables import meter_events, usage_watermarks
from remit.runtime import Runtime
from remit.telemetry import metrics
from remit.usage import records

ROLLUP_WATERMARK = "rollup"


async def usage_gauges(runtime: Runtime) -> None:
    """Set ``remit_meter_events{status}``, ``remit_meter_oldest_pending_age_seconds`` and
    ``remit_usage_rollup_lag_events`` from the database."""
    async with runtime.db.read() as conn:
        counts = await records.count_by_state(conn)
        oldest = await records.oldest_pending(conn)
        last_id = (
            await conn.execute(sa.select(usage_watermarks.c.last_id).where(usage_watermarks.c.name == ROLLUP_WATERMARK))
        ).scalar_one_or_none()
        lag = (await conn.execute(sa.select(sa.func.count()).where(meter_events.c.id > (last_id or 0)))).scalar_one()
    for status, count in counts.items():
        metrics.meter_events.labels(status=status).set(count)
    age = 0.0 if oldest is None else max((runtime.clock.now() - oldest).total_seconds(), 0.0)
    metrics.meter_oldest_pending_age_seconds.set(age)
    metrics.usage_rollup_lag_events.set(int(lag))


__all__ = ["ROLLUP_WATERMARK", "usage_gauges"]
