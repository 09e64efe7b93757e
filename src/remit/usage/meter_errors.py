"""The processor's meter error reports: the records they name become ``failed`` (source ``webhook``).

Stripe reports meter events it could not count (an unknown customer, a bad value) with
``v1.billing.meter.error_report_triggered``. As a *thin* event (``object: "v2.core.event"``) the pushed
notification names only the meter; the details — each error's code and sample requests with their
``identifier`` — are fetched (``GET /v2/core/events/{id}``, :meth:`Processor.retrieve_thin_event`). Its
*classic* form carries the same report in ``data.object``.

The handler only queues a job on ``remit_meters`` (unique per event), in the dispatch transaction: the fetch is
a processor call, made by the job under :func:`~remit.processor.calls.processor_call` (a 429 snoozes it, a
refused key pauses the queue) and never inside the dispatch transaction. The job marks each named record
``failed`` — from ``pending`` or ``reported`` — by a guarded update, so a replayed event moves nothing twice
and ``meter_reporting_failed`` is emitted once per record. Identifiers no record has are logged (identifiers
only) and acknowledged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from remit.db.tables import meter_events
from remit.handlers import EventHandler
from remit.jobs.context import JobContext
from remit.jobs.definition import UniqueBy, job
from remit.processor.calls import processor_call
from remit.runtime import Runtime
from remit.usage import records
from remit.usage.records import FailureSource
from remit.usage.reporting import announce_failed
from remit.webhooks.handlers import HandlerContext

log = logging.getLogger("remit.usage")

METER_ERROR_EVENT = "v1.billing.meter.error_report_triggered"
METER_ERROR_HANDLER_NAME = "remit.usage.meter_errors"
METER_ERROR_JOB = "remit.usage.meter_error_report"
THIN_EVENT_OBJECT = "v2.core.event"


def failed_identifiers(report: Mapping[str, Any]) -> dict[str, str]:
    """``{identifier: error code}`` from an error report's ``data`` (pure): every sample error of every
    error type (``reason.error_types[].sample_errors[].request.identifier``)."""
    found: dict[str, str] = {}
    reason = report.get("reason")
    types = reason.get("error_types") if isinstance(reason, Mapping) else None
    for error_type in types if isinstance(types, list) else []:
        if not isinstance(error_type, Mapping):
            continue
        code = str(error_type.get("code") or "meter_error")
        samples = error_type.get("sample_errors")
        for sample in samples if isinstance(samples, list) else []:
            request = sample.get("request") if isinstance(sample, Mapping) else None
            identifier = request.get("identifier") if isinstance(request, Mapping) else None
            if isinstance(identifier, str) and identifier:
                found.setdefault(identifier, code)
    return found


def classic_report(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The report a classic (snapshot) event carries in ``data.object`` (pure)."""
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    return obj if isinstance(obj, Mapping) else {}


@job(queue="remit_meters", name=METER_ERROR_JOB, max_attempts=10, unique=UniqueBy("processor_event_id"))
async def apply_meter_error_report(
    ctx: JobContext[Runtime], processor_event_id: str, failures: dict[str, str] | None = None
) -> dict[str, int]:
    """Mark the records a meter error report names ``failed``; for a thin event (``failures`` None) the
    report is fetched first."""
    runtime = ctx.app
    if failures is None:
        async with processor_call(ctx, "meter error report"):
            event = await runtime.processor.retrieve_thin_event(processor_event_id)
        data = event.get("data")
        failures = failed_identifiers(data if isinstance(data, Mapping) else {})
    return await mark_failed(runtime, processor_event_id, failures)


async def mark_failed(runtime: Runtime, processor_event_id: str, failures: Mapping[str, str]) -> dict[str, int]:
    now = runtime.clock.now()
    moved = []
    async with runtime.db.begin() as conn:
        known = await records.by_operation_ids(conn, list(failures))
        for identifier, record in known.items():
            moved += await records.fail(
                conn, meter_events.c.id == record.id, FailureSource.WEBHOOK, failures[identifier], now
            )
    announce_failed(moved)
    unknown = sorted(set(failures) - set(known))
    if unknown:
        log.warning(
            "meter error report names usage remit has no record of",
            extra={"processor_event_id": processor_event_id, "identifiers": unknown[:20], "count": len(unknown)},
        )
    return {"named": len(failures), "failed": len(moved), "unknown": len(unknown)}


async def queue_meter_error_report(ctx: HandlerContext) -> None:
    """Queue the job that applies this error report (in the dispatch transaction)."""
    payload = ctx.payload
    args: dict[str, Any] = {"processor_event_id": ctx.event.event_id}
    if payload.get("object") != THIN_EVENT_OBJECT:
        args["failures"] = failed_identifiers(classic_report(payload))
    await ctx.runtime.engine.enqueue(ctx.conn, apply_meter_error_report, args)


METER_ERROR_HANDLER = EventHandler(METER_ERROR_HANDLER_NAME, (METER_ERROR_EVENT,), queue_meter_error_report)

__all__ = [
    "METER_ERROR_EVENT",
    "METER_ERROR_HANDLER",
    "METER_ERROR_HANDLER_NAME",
    "METER_ERROR_JOB",
    "apply_meter_error_report",
    "classic_report",
    "failed_identifiers",
    "mark_failed",
    "queue_meter_error_report",
]
