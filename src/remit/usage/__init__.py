"""Usage metering that never loses or double-counts a unit.

Modules: ``values`` (what a report must be; pure), ``records`` (the meter events, their state machine and
statements), ``reporting`` (:func:`report_usage`, the report job on ``remit_meters`` and the meter
reconciler), ``meter_errors`` (the processor's meter error reports), ``rollups`` (hourly and daily rollups,
incremental and recomputed), ``backfill`` (one recompute job per period), ``gauges`` (the scrape-time
gauges), ``loadtest`` (the load-test harness). See ``docs/usage.md``.

:data:`PART` declares what the usage part brings to a runtime: its jobs, the reconciler and the rollup as
periodic tasks, the handler of meter error reports, the meter events' state machine and its gauges.
Importing the package registers nothing.
"""

from remit.part import Part
from remit.usage.backfill import RECOMPUTE_JOB, enqueue_backfill, periods, recompute_period
from remit.usage.gauges import usage_gauges
from remit.usage.meter_errors import METER_ERROR_EVENT, METER_ERROR_HANDLER, apply_meter_error_report
from remit.usage.records import METER_EVENT_STATES, FailureSource, MeterEventRecord, MeterEventState
from remit.usage.reporting import (
    RECONCILE_TASK,
    REPORT_JOB,
    UsageOutcome,
    report_meter_events,
    report_usage,
    report_usage_many,
)
from remit.usage.rollups import ROLLUP_TASK, Resolution, Rollup, list_rollups, roll_up
from remit.usage.values import UsageRefused, UsageReport

PART = Part(
    name="usage",
    jobs=(report_meter_events, apply_meter_error_report, recompute_period),
    periodic=(RECONCILE_TASK, ROLLUP_TASK),
    event_handlers=(METER_ERROR_HANDLER,),
    state_machines=(METER_EVENT_STATES,),
    collectors=(usage_gauges,),
)

__all__ = [
    "METER_ERROR_EVENT",
    "METER_ERROR_HANDLER",
    "METER_EVENT_STATES",
    "PART",
    "RECOMPUTE_JOB",
    "RECONCILE_TASK",
    "REPORT_JOB",
    "ROLLUP_TASK",
    "FailureSource",
    "MeterEventRecord",
    "MeterEventState",
    "Resolution",
    "Rollup",
    "UsageOutcome",
    "UsageRefused",
    "UsageReport",
    "apply_meter_error_report",
    "enqueue_backfill",
    "list_rollups",
    "periods",
    "recompute_period",
    "report_meter_events",
    "report_usage",
    "report_usage_many",
    "roll_up",
    "usage_gauges",
]
