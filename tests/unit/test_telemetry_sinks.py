"""Ops events and spans leave remit one way: one allow-list, one filter, one sink dispatcher, one log layout
(the event's name in ``<kind>_event``, its metadata nested under ``<kind>``)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from remit.telemetry import ops, sinks, spans


def test_spans_and_ops_events_share_the_allow_list_and_the_filter() -> None:
    assert spans.SPAN_FIELDS <= sinks.ALLOWED_FIELDS
    assert ops.ALLOWED_FIELDS is sinks.ALLOWED_FIELDS
    assert ops.safe_metadata is sinks.safe_metadata
    given = {"action": "subscribe", "url": "https://pay.example/s/1", "queue": "q", "code": ["not", "scalar"]}
    assert spans.span_metadata(given) == sinks.safe_metadata(given, spans.SPAN_FIELDS) == {"action": "subscribe"}


def _record(caplog: pytest.LogCaptureFixture, logger: str) -> logging.LogRecord:
    [record] = [r for r in caplog.records if r.name == logger]
    return record


def test_a_span_logs_in_the_ops_events_layout(caplog: pytest.LogCaptureFixture) -> None:
    async def failing() -> None:
        async with spans.span("billing.action", action="subscribe", operation_id="k-1") as current:
            current.set(code="card_declined")
            raise RuntimeError("declined")

    with caplog.at_level(logging.DEBUG, logger="remit.span"), pytest.raises(RuntimeError):
        asyncio.run(failing())
    with caplog.at_level(logging.INFO, logger="remit.ops"):
        ops.emit("jobs.discarded", job_id=7, queue="q")
    span_record, ops_record = _record(caplog, "remit.span"), _record(caplog, "remit.ops")
    assert ops_record.__dict__["ops_event"] == "jobs.discarded"
    assert ops_record.__dict__["ops"] == {"job_id": 7, "queue": "q"}
    assert span_record.__dict__["span_event"] == "billing.action"
    fields = span_record.__dict__["span"]
    assert {k: v for k, v in fields.items() if k != "duration_s"} == {
        "action": "subscribe",
        "operation_id": "k-1",
        "code": "card_declined",
        "error_type": "RuntimeError",
    }
    assert fields["duration_s"] >= 0
    assert "action" not in span_record.__dict__  # nothing at the top level of the record


def test_a_failing_span_handler_is_logged_as_a_failing_ops_sink_is(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[spans.SpanEvent] = []

    def broken(_event: spans.SpanEvent) -> None:
        raise RuntimeError("handler down")

    async def work() -> None:
        async with spans.span("billing.action", action="subscribe"):
            pass

    detach_broken, detach_seen = spans.attach(broken), spans.attach(seen.append)
    try:
        with caplog.at_level(logging.ERROR):
            asyncio.run(work())
    finally:
        detach_broken()
        detach_seen()
    assert [event.phase for event in seen] == ["start", "stop"]
    failed = [r for r in caplog.records if r.getMessage() == "span handler failed"]
    assert [(r.__dict__["span_event"], r.__dict__["error_type"]) for r in failed] == [
        ("billing.action", "RuntimeError")
    ] * 2
