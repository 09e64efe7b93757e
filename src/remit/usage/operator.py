"""Operator actions on usage records: put ``failed`` records back to ``pending`` after the cause is fixed
(``remit usage retry``), audited, each with a report job in the same transaction."""

from __future__ import annotations

from remit.audit import record
from remit.jobs.rows import JobRequest
from remit.runtime import Runtime
from remit.usage import records
from remit.usage.records import FailureSource, MeterEventRecord, MeterEventState
from remit.usage.reporting import report_meter_events


async def failed_records(
    runtime: Runtime, *, customer_id: str | None = None, meter: str | None = None, limit: int = 10_000
) -> list[MeterEventRecord]:
    async with runtime.db.connect() as conn:
        return await records.list_meter_events(
            conn, states=[MeterEventState.FAILED], customer_id=customer_id, meter=meter, limit=limit
        )


async def retry_failed(
    runtime: Runtime, *, actor: str, customer_id: str | None = None, meter: str | None = None
) -> list[MeterEventRecord]:
    """``failed`` → ``pending`` for every failed record (of ``customer_id``/``meter`` when given), with report
    jobs of 100 records each, audited as ``actor``; the records that moved."""
    now = runtime.clock.now()
    async with runtime.db.begin() as conn:
        moved = await records.reopen_failed(conn, now, customer_id=customer_id, meter=meter)
        ids = sorted(r.id for r in moved)
        requests = [
            JobRequest(report_meter_events, {"ids": ids[i : i + 100], "source": FailureSource.SYNC.value})
            for i in range(0, len(ids), 100)
        ]
        await runtime.engine.enqueue_many(conn, requests)
        await record(
            conn,
            at=now,
            actor=actor,
            action="usage.retry",
            subject="meter_events:failed",
            details={"count": len(moved), "customer_id": customer_id, "meter": meter},
        )
    return moved


__all__ = ["failed_records", "retry_failed"]
