"""The usage API behind bearer service tokens: ``POST /api/v1/usage`` records usage, ``GET
/api/v1/usage/rollups`` reads a customer's hourly or daily usage.

``POST`` takes one event (``{"customer", "meter", "value", "operation_id", "timestamp"?}``) or a batch
(``{"events": [...]}``, at most 1,000) as JSON and answers 200 with each event's record in the order sent:
``{"object": "list", "data": [{"operation_id", "id", "status", "duplicate"}]}`` — ``duplicate`` when the
operation id was stored before (nothing written). Everything is checked before anything is written: a bad
event is a 400 whose ``param`` names it (``events[3].value``), and the batch is refused whole. ``timestamp``
is Unix seconds or ISO 8601; ``value`` a number or a decimal string.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request

from remit.api.auth import SERVICE_DEPENDENCIES, ApiError, ServiceRoute
from remit.api.billing import refuse_nul_characters
from remit.api.schemas import SERVICE_ERRORS, RollupList, UsageRecordedList, error
from remit.errors import WebhookError
from remit.runtime import Runtime
from remit.usage import Resolution, UsageRefused, UsageReport, list_rollups, report_usage_many
from remit.usage.reporting import BATCH_LIMIT
from remit.webhooks.envelope import loads, refuse_deep_nesting

PREFIX = "/api/v1/usage"
#: A full batch of 1,000 events fits well inside this.
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_ROLLUPS = 10_000

router = APIRouter(
    prefix=PREFIX,
    tags=["usage"],
    route_class=ServiceRoute,
    dependencies=[*SERVICE_DEPENDENCIES, Depends(refuse_nul_characters)],
    responses=SERVICE_ERRORS,
)

_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["customer", "meter", "value", "operation_id"],
    "properties": {
        "customer": {"type": "string"},
        "meter": {"type": "string"},
        "value": {"oneOf": [{"type": "number"}, {"type": "string"}]},
        "operation_id": {"type": "string"},
        "timestamp": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
    },
}
#: The body ``POST`` reads itself (so a batch is checked whole before anything is written), declared here.
USAGE_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    _EVENT_SCHEMA,
                    {
                        "type": "object",
                        "required": ["events"],
                        "properties": {"events": {"type": "array", "items": _EVENT_SCHEMA, "maxItems": BATCH_LIMIT}},
                    },
                ]
            }
        }
    },
}


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _bad(param: str, message: str, code: str = "parameter_invalid") -> ApiError:
    return ApiError(400, code, message, param=param)


def _timestamp(raw: object, param: str) -> datetime | None:
    if raw is None:
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        try:
            return datetime.fromtimestamp(raw, UTC)
        except (OverflowError, OSError, ValueError):
            raise _bad(param, "timestamp is out of range") from None
    if isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise _bad(param, "timestamp must be Unix seconds or ISO 8601") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise _bad(param, "timestamp must be Unix seconds or ISO 8601")


def _value(raw: object, param: str) -> int | Decimal | str:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise _bad(param, "value must be a number or a decimal string")
    if isinstance(raw, float):
        return Decimal(repr(raw))
    return raw


def parse_event(raw: object, where: str) -> UsageReport:
    """One event of the body as a report; a 400 naming the field when its shape is wrong."""
    prefix = f"{where}." if where else ""
    if not isinstance(raw, dict):
        raise _bad(where or "body", "an event is a JSON object")
    for field in ("customer", "meter", "value", "operation_id"):
        if field not in raw:
            raise _bad(f"{prefix}{field}", f"{field} is required", "parameter_missing")
    for field in ("customer", "meter", "operation_id"):
        if not isinstance(raw[field], str):
            raise _bad(f"{prefix}{field}", f"{field} must be a string")
    unknown = sorted(set(raw) - {"customer", "meter", "value", "operation_id", "timestamp"})
    if unknown:
        raise _bad(f"{prefix}{unknown[0]}", "unknown field", "parameter_unknown")
    return UsageReport(
        customer_id=raw["customer"],
        meter=raw["meter"],
        value=_value(raw["value"], f"{prefix}value"),
        operation_id=raw["operation_id"],
        timestamp=_timestamp(raw.get("timestamp"), f"{prefix}timestamp"),
    )


def parse_body(body: bytes) -> tuple[list[UsageReport], bool]:
    """The reports a body holds, and whether it was a batch.

    Parsed as webhook deliveries are: orjson refuses nesting past 1,024 levels (``invalid_json``; the standard
    parser raised ``RecursionError``, a 500) and the depth rule refuses past 64 (``json_too_deep``)."""
    try:
        document = loads(body)
        refuse_deep_nesting(document)
    except WebhookError as error:
        raise _bad("body", str(error), error.code) from None
    if isinstance(document, dict) and "events" in document:
        events = document["events"]
        if not isinstance(events, list) or not events:
            raise _bad("events", "events must be a non-empty list")
        if len(events) > BATCH_LIMIT:
            raise _bad("events", f"a batch holds at most {BATCH_LIMIT} events", "too_many_events")
        return [parse_event(event, f"events[{i}]") for i, event in enumerate(events)], True
    return [parse_event(document, "")], False


@router.post(
    "",
    response_model=None,
    openapi_extra={"requestBody": USAGE_BODY},
    responses={
        200: {"model": UsageRecordedList, "description": "Each event's record, in the order sent."},
        413: error("The body is larger than a full batch (`payload_too_large`)."),
    },
)
async def record_usage(request: Request) -> dict[str, Any]:
    """Record one usage event or a batch; each is sent to the processor by a job after commit."""
    from remit.api.webhooks import read_body

    try:
        body = await read_body(request, MAX_BODY_BYTES)
    except WebhookError as error:
        raise ApiError(error.status_code, error.code, str(error)) from None
    reports, batch = parse_body(body)
    try:
        async with _runtime(request).db.begin() as conn:
            outcomes = await report_usage_many(conn, reports)
    except UsageRefused as refused:
        index = next((i for i, r in enumerate(reports) if _refuses(request, r)), None)
        where = f"events[{index}]." if batch and index is not None else ""
        raise _bad(f"{where}{refused.field}", str(refused), refused.code) from None
    data = [
        {
            "operation_id": o.record.operation_id,
            "id": o.record.id,
            "status": o.record.state.value,
            "duplicate": not o.created,
        }
        for o in outcomes
    ]
    return {"object": "list", "data": data, "has_more": False, "url": PREFIX}


def _refuses(request: Request, report: UsageReport) -> bool:
    from remit.usage.values import check

    runtime = _runtime(request)
    try:
        check(report, runtime.settings.meters, runtime.clock.now())
    except UsageRefused:
        return True
    return False


@router.get(
    "/rollups",
    response_model=None,
    responses={200: {"model": RollupList, "description": "Usage per hour or day, oldest first."}},
)
async def get_rollups(
    request: Request,
    customer: str | None = None,
    meter: str | None = None,
    resolution: str = "daily",
    start: str | None = None,
    end: str | None = None,
) -> dict[str, Any]:
    """A customer's usage per hour or day between ``start`` (inclusive) and ``end`` (exclusive)."""
    if not customer:
        raise _bad("customer", "customer is required", "parameter_missing")
    try:
        chosen = Resolution(resolution)
    except ValueError:
        raise _bad("resolution", "resolution is hourly or daily") from None
    if start is None or end is None:
        raise _bad("start" if start is None else "end", "start and end are required", "parameter_missing")
    lo, hi = _timestamp(start, "start"), _timestamp(end, "end")
    if lo is None or hi is None or hi <= lo:
        raise _bad("end", "end must be after start")
    runtime = _runtime(request)
    async with runtime.db.read() as conn:
        found = await list_rollups(
            conn, customer_id=customer, resolution=chosen, start=lo, end=hi, meter=meter, limit=MAX_ROLLUPS
        )
    meters = runtime.settings.meters
    data = [r.to_json(meters[r.meter].decimals if r.meter in meters else 0) for r in found]
    return {"object": "list", "data": data, "has_more": len(found) == MAX_ROLLUPS, "url": f"{PREFIX}/rollups"}


__all__ = ["MAX_BODY_BYTES", "PREFIX", "parse_body", "parse_event", "router"]
