"""The stuck gauge ``remit_provisioning_stuck``, refreshed before each scrape from the one stuck query
(:func:`~remit.provisioning.jobs_table.count_stuck`, which ``remit provisioning list --stuck`` uses too)."""

from __future__ import annotations

from typing import Any

from remit.provisioning import jobs_table
from remit.telemetry.metrics import provisioning_stuck


async def refresh_stuck(runtime: Any) -> None:
    settings = runtime.settings
    async with runtime.db.read() as conn:
        stuck = await jobs_table.count_stuck(
            conn,
            runtime.clock.now(),
            stuck_seconds=settings.provisioning_stuck_seconds,
            max_attempts=settings.provisioning_max_attempts,
        )
    provisioning_stuck.set(stuck)


__all__ = ["refresh_stuck"]
