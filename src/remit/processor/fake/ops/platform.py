"""Everything around the money: portal sessions, billing meters and meter events, webhook endpoints, events,
the balance, and Connect accounts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from remit.processor.fake import listing
from remit.processor.fake.errors import invalid, missing, parameter_missing
from remit.processor.fake.events import get_event, list_events
from remit.processor.fake.ids import new_webhook_secret
from remit.processor.fake.ops.common import equal_to, listed
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.shapes import sessions as shapes
from remit.processor.fake.tx import Tx

METER_EVENT = "billing.meter_event"
#: Stripe's window for a meter event's timestamp: 35 days back, 5 minutes ahead.
METER_EVENT_MAX_AGE_S = 35 * 86400
METER_EVENT_MAX_AHEAD_S = 300
#: Where the fake keeps the ``data`` of a thin event (its full form), under the event's id.
THIN_EVENT_DATA = "fake.thin_event_data"
#: The capabilities a connected account may request (a requested one is ``inactive``: the fake verifies no one).
CAPABILITIES = ("card_payments", "sepa_debit_payments", "transfers")


async def create_portal_session(tx: Tx, p: Params) -> dict[str, Any]:
    customer = p.require_str("customer")
    await tx.get(customer, "customer", param="customer")
    data = shapes.portal_session(
        await tx.new_id("billing_portal.session"),
        created=tx.now,
        customer=customer,
        return_url=p.string("return_url") or shapes.FAKE_HOST,
    )
    return await tx.insert(data)


async def create_meter(tx: Tx, p: Params) -> dict[str, Any]:
    event_name = p.require_str("event_name")
    if any(m.data["event_name"] == event_name for m in await tx.list("billing.meter")):
        raise invalid(f"A meter with event_name {event_name} already exists.", param="event_name")
    data = shapes.meter(
        await tx.new_id("billing.meter"),
        created=tx.now,
        display_name=p.string("display_name") or event_name,
        event_name=event_name,
        formula=p.sub("default_aggregation").string("formula", "sum") or "sum",
        customer_key=p.sub("customer_mapping").string("event_payload_key", "stripe_customer_id")
        or "stripe_customer_id",
        value_key=p.sub("value_settings").string("event_payload_key", "value") or "value",
    )
    return await tx.insert(data)


async def list_meters(tx: Tx, p: Params) -> dict[str, Any]:
    return await listed(tx, p, "billing.meter", url="/v1/billing/meters", where=[equal_to(p, "status")])


async def retrieve_meter(tx: Tx, p: Params, meter_id: str) -> dict[str, Any]:
    return (await tx.get(meter_id, "billing.meter")).data


async def update_meter(tx: Tx, p: Params, meter_id: str) -> dict[str, Any]:
    """``POST /v1/billing/meters/{id}``: its display name (no event, as at Stripe)."""
    before = (await tx.get(meter_id, "billing.meter")).data
    after = dict(before)
    if p.has("display_name"):
        after.update(display_name=p.require_str("display_name"), updated=tx.now)
    if after != before:
        await tx.save(after)
    return after


#: ``value_grouping_window`` → the window's length in seconds (aligned to UTC hours and days).
SUMMARY_WINDOWS = {"hour": 3600, "day": 86400}


async def list_meter_event_summaries(tx: Tx, p: Params, meter_id: str) -> dict[str, Any]:
    """``GET /v1/billing/meters/{id}/event_summaries``: the customer's meter events with ``start_time <=
    timestamp < end_time``, aggregated by the meter's formula (``sum``, ``count``, ``last``) — one summary for
    the range, or one per hour or UTC day with ``value_grouping_window`` (newest first, windows without events
    included, as Stripe lists them). Times must sit on minute boundaries, and on the window's own boundaries
    when one is given; the fake aggregates at once where Stripe is eventually consistent."""
    meter = (await tx.get(meter_id, "billing.meter")).data
    customer = p.require_str("customer")
    start, end = p.integer("start_time"), p.integer("end_time")
    if start is None:
        raise parameter_missing("start_time")
    if end is None:
        raise parameter_missing("end_time")
    window = p.string("value_grouping_window")
    step = SUMMARY_WINDOWS.get(window or "", end - start)
    if window is not None and window not in SUMMARY_WINDOWS:
        raise invalid("Invalid value_grouping_window: must be one of day or hour.", param="value_grouping_window")
    for name, value in (("start_time", start), ("end_time", end)):
        if value % 60 or (window is not None and value % step):
            unit = f"{window} boundaries" if window is not None else "minute boundaries"
            raise invalid(f"{name} must be aligned with {unit}.", param=name)
    if end <= start:
        raise invalid("end_time must be after start_time.", param="end_time")
    if (end - start) // step > 10_000:
        raise invalid("The time range holds too many windows for value_grouping_window.", param="start_time")
    customer_key = meter["customer_mapping"]["event_payload_key"]
    value_key = meter["value_settings"]["event_payload_key"]
    formula = meter["default_aggregation"]["formula"]
    events = sorted(
        (e.data for e in await tx.list(METER_EVENT)),
        key=lambda e: (int(e["timestamp"]), int(e["created"])),
    )
    windows: dict[int, list[float]] = {moment: [] for moment in range(start, end, step)}
    for event in events:
        stamp = int(event["timestamp"])
        payload = event.get("payload") or {}
        if event["event_name"] != meter["event_name"] or payload.get(customer_key) != customer:
            continue
        if start <= stamp < end and _is_number(payload.get(value_key)):
            windows[start + (stamp - start) // step * step].append(float(payload[value_key]))
    summaries = [
        shapes.meter_event_summary(meter_id, customer, moment, moment + step, _aggregate(formula, values))
        for moment, values in sorted(windows.items(), reverse=True)
    ]
    return listing.page(
        summaries,
        p,
        url=f"/v1/billing/meters/{meter_id}/event_summaries",
        object_type="billing.meter_event_summary",
    )


def _aggregate(formula: str, values: list[float]) -> float | int:
    if formula == "count":
        return len(values)
    total = (values[-1] if values else 0.0) if formula == "last" else sum(values)
    return int(total) if float(total).is_integer() else total


async def create_meter_event(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/billing/meter_events``. A timestamp more than 35 days back or 5 minutes ahead is refused at
    once (400), as at Stripe; anything else is accepted, and problems surface later as Stripe's thin events
    ``v1.billing.meter.no_meter_found`` / ``v1.billing.meter.error_report_triggered`` (whose full form,
    ``GET /v2/core/events/{id}``, names the event by its identifier). An ``identifier`` already used is
    refused as Stripe refuses it — a 400 ``invalid_request_error`` without a code, "An event already exists
    with identifier …" — and counted once; a repeat of the same request with its idempotency key answers the
    first event, by the idempotency layer, before this runs."""
    event_name = p.require_str("event_name")
    payload = {str(k): str(v) for k, v in p.mapping("payload").items()}
    if not payload:
        raise parameter_missing("payload")
    timestamp = p.integer("timestamp", tx.now) or tx.now
    if timestamp < tx.now - METER_EVENT_MAX_AGE_S:
        raise invalid("Timestamp must be within the past 35 days.", param="timestamp")
    if timestamp > tx.now + METER_EVENT_MAX_AHEAD_S:
        raise invalid("Timestamp must not be more than 5 minutes in the future.", param="timestamp")
    identifier = p.string("identifier") or f"fake-{await tx.number('meter_event')}"
    key = f"mevt_{identifier}"
    if await tx.find(key) is not None:
        raise invalid(f"An event already exists with identifier {identifier}.")
    stored = dict(
        shapes.meter_event(
            created=tx.now,
            event_name=event_name,
            identifier=identifier,
            payload=payload,
            timestamp=timestamp,
        ),
        id=key,
    )
    meters = [m.data for m in await tx.list("billing.meter") if m.data["event_name"] == event_name]
    await tx.insert(stored)
    await _report_meter_errors(tx, meters, payload, identifier)
    return {k: v for k, v in stored.items() if k != "id"}


async def _report_meter_errors(tx: Tx, meters: list[dict[str, Any]], payload: dict[str, str], identifier: str) -> None:
    if not meters:
        await tx.emit_thin("v1.billing.meter.no_meter_found", related_object=None)
        return
    meter = meters[0]
    customer_key = meter["customer_mapping"]["event_payload_key"]
    value_key = meter["value_settings"]["event_payload_key"]
    problem = None
    customer = payload.get(customer_key)
    if not customer:
        problem = "meter_event_no_customer_defined"
    elif not _is_number(payload.get(value_key)):
        problem = "meter_event_invalid_value"
    elif await tx.find(customer) is None:
        problem = "meter_event_customer_not_found"
    if problem is not None:
        event = await tx.emit_thin(
            "v1.billing.meter.error_report_triggered",
            related_object={"id": meter["id"], "type": "billing.meter", "url": f"/v1/billing/meters/{meter['id']}"},
            reason={
                "type": "request",
                "request": {"id": tx.request_id, "idempotency_key": tx.idempotency_key},
            },
        )
        # What GET /v2/core/events/{id} adds to the thin event: Stripe's error report, one sample per error.
        data = {
            "developer_message_summary": f"There is 1 invalid event: {problem}",
            "reason": {
                "error_count": 1,
                "error_types": [
                    {
                        "code": problem,
                        "error_count": 1,
                        "sample_errors": [{"error_message": problem, "request": {"identifier": identifier}}],
                    }
                ],
            },
            "validation_start": _iso(datetime.fromtimestamp(tx.now, UTC)),
            "validation_end": _iso(datetime.fromtimestamp(tx.now, UTC)),
        }
        await tx.insert({"id": event.id, "object": THIN_EVENT_DATA, "created": tx.now, "data": data})


async def retrieve_thin_event(tx: Tx, p: Params, event_id: str) -> dict[str, Any]:
    """``GET /v2/core/events/{id}``: a thin event with its ``data`` (what the pushed notification leaves out)."""
    stored = await get_event(tx.conn, event_id)
    if stored is None:
        raise missing("event", event_id)
    event = json.loads(stored.payload)
    if event.get("object") != "v2.core.event":
        raise missing("event", event_id)
    event.setdefault("changes", None)  # fields of the v2 Event the pushed notification leaves out
    event.setdefault("snapshot_event", None)
    extra = await tx.find(event_id)
    event["data"] = extra.data["data"] if extra is not None and extra.data.get("object") == THIN_EVENT_DATA else {}
    return dict(event)


def _is_number(value: str | None) -> bool:
    try:
        float(value or "")
    except ValueError:
        return False
    return True


async def create_meter_event_session(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v2/billing/meter_event_session`` (v2; what ``stripe trigger`` uses for high-volume streams)."""
    created = datetime.fromtimestamp(tx.now, UTC)
    return {
        "id": await tx.new_id("meter_event_session"),
        "object": "v2.billing.meter_event_session",
        "authentication_token": "fake_meter_session_token",
        "created": _iso(created),
        "expires_at": _iso(datetime.fromtimestamp(tx.now + 900, UTC)),
        "livemode": False,
    }


async def create_meter_event_stream(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v2/billing/meter_event_stream``: each event as a meter event."""
    for raw in p.array("events"):
        event = Params(raw if isinstance(raw, dict) else {})
        identifier = event.string("identifier")
        if identifier and await tx.find(f"mevt_{identifier}") is not None:
            continue  # a stream is processed later at Stripe: a repeated identifier is dropped, not refused
        await create_meter_event(
            tx,
            Params(
                {
                    "event_name": event.require_str("event_name"),
                    "payload": event.mapping("payload"),
                    "identifier": event.string("identifier"),
                }
            ),
        )
    return {}


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def create_webhook_endpoint(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/webhook_endpoints``: the answer alone carries the new signing ``secret``."""
    url = p.require_str("url")
    events = p.strings("enabled_events")
    if not events:
        raise parameter_missing("enabled_events")
    data = shapes.webhook_endpoint(
        await tx.new_id("webhook_endpoint"),
        created=tx.now,
        url=url,
        enabled_events=events,
        description=p.string("description"),
        api_version=p.string("api_version"),
        metadata=merge_metadata({}, p.raw("metadata")),
    )
    secret = new_webhook_secret()
    await tx.insert(data, {"secret": secret})
    return dict(data, secret=secret)


async def list_webhook_endpoints(tx: Tx, p: Params) -> dict[str, Any]:
    return await listed(tx, p, "webhook_endpoint", url="/v1/webhook_endpoints")


async def retrieve_webhook_endpoint(tx: Tx, p: Params, endpoint_id: str) -> dict[str, Any]:
    return (await tx.get(endpoint_id, "webhook_endpoint")).data


async def update_webhook_endpoint(tx: Tx, p: Params, endpoint_id: str) -> dict[str, Any]:
    found = await tx.get(endpoint_id, "webhook_endpoint")
    data = dict(found.data, metadata=merge_metadata(found.data["metadata"], p.raw("metadata")))
    if p.strings("enabled_events"):
        data["enabled_events"] = p.strings("enabled_events")
    if p.has("url"):
        data["url"] = p.require_str("url")
    if "description" in p.data:
        data["description"] = p.string("description") or None
    if p.boolean("disabled") is not None:
        data["status"] = "disabled" if p.boolean("disabled") else "enabled"
    await tx.save(data)
    return data


async def delete_webhook_endpoint(tx: Tx, p: Params, endpoint_id: str) -> dict[str, Any]:
    found = await tx.get(endpoint_id, "webhook_endpoint")
    await tx.save(found.data, deleted=True)
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}


async def retrieve_event(tx: Tx, p: Params, event_id: str) -> dict[str, Any]:
    stored = await get_event(tx.conn, event_id)
    if stored is None:
        raise missing("event", event_id)
    payload: dict[str, Any] = json.loads(stored.payload)
    return payload


async def list_events_op(tx: Tx, p: Params) -> dict[str, Any]:
    """``GET /v1/events`` (``type`` may end in ``*``: ``invoice.*``; ``types`` lists several)."""
    wanted = [p.string("type")] if p.has("type") else p.strings("types")
    items = [json.loads(event.payload) for event in await list_events(tx.conn)]
    if wanted:
        items = [event for event in items if any(_type_matches(str(w), event["type"]) for w in wanted)]
    return listing.page(items, p, url="/v1/events", object_type="event")


def _type_matches(pattern: str, event_type: str) -> bool:
    if pattern.endswith("*"):
        return event_type.startswith(pattern[:-1])
    return event_type == pattern


async def retrieve_balance(tx: Tx, p: Params) -> dict[str, Any]:
    return shapes.balance()


async def create_account(tx: Tx, p: Params) -> dict[str, Any]:
    data = shapes.account(
        await tx.new_id("account"),
        created=tx.now,
        type_=p.string("type", "standard") or "standard",
        email=p.string("email"),
    )
    data["country"] = (p.string("country") or "US").upper()
    data["metadata"] = merge_metadata({}, p.raw("metadata"))
    data["capabilities"] = {
        name: "inactive" for name, wanted in p.mapping("capabilities").items() if Params(wanted).boolean("requested")
    }
    private = {
        "application": await tx.new_id("application"),
        "requested_at": dict.fromkeys(data["capabilities"], tx.now),
    }
    return await tx.insert(data, private)


async def retrieve_account(tx: Tx, p: Params, account_id: str) -> dict[str, Any]:
    return (await tx.get(account_id, "account")).data


async def delete_account(tx: Tx, p: Params, account_id: str) -> dict[str, Any]:
    """Deleting a connected account disconnects the platform: ``account.application.deauthorized``."""
    found = await tx.get(account_id, "account")
    await tx.save(found.data, deleted=True)
    application = shapes.application(str(found.private.get("application") or "ca_fake000001"))
    await tx.emit("account.application.deauthorized", application, account=account_id)
    return {"id": account_id, "object": "account", "deleted": True}


__all__ = [
    "create_account",
    "create_meter",
    "create_meter_event",
    "create_meter_event_session",
    "create_meter_event_stream",
    "create_portal_session",
    "create_webhook_endpoint",
    "delete_account",
    "delete_webhook_endpoint",
    "list_events_op",
    "list_meters",
    "list_webhook_endpoints",
    "retrieve_account",
    "retrieve_balance",
    "retrieve_event",
    "retrieve_meter",
    "retrieve_thin_event",
    "retrieve_webhook_endpoint",
    "update_meter",
    "update_webhook_endpoint",
]
