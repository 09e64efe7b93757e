"""Reading the event envelope: what is kept, what is refused, and lookup fields that do not fit."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from remit.errors import WebhookError
from remit.webhooks.envelope import parse_envelope

GOOD = {
    "id": "evt_1",
    "object": "event",
    "type": "invoice.paid",
    "created": 1_700_000_000,
    "livemode": True,
    "api_version": "2024-06-20",
    "account": "acct_9",
    "data": {"object": {"id": "in_1", "object": "invoice"}},
}


def with_(**changes: object) -> str:
    document = {**GOOD, **changes}
    return json.dumps({k: v for k, v in document.items() if v is not ...})


def test_a_full_envelope() -> None:
    envelope = parse_envelope(json.dumps(GOOD))
    assert envelope.event_id == "evt_1"
    assert envelope.type == "invoice.paid"
    assert envelope.livemode is True
    assert envelope.api_version == "2024-06-20"
    assert envelope.account == "acct_9"
    assert envelope.created == datetime.fromtimestamp(1_700_000_000, UTC)
    assert (envelope.object_id, envelope.object_type) == ("in_1", "invoice")


def test_optional_fields_may_be_absent() -> None:
    envelope = parse_envelope(
        with_(object=..., livemode=..., api_version=None, account=..., data={"object": {"id": "x"}})
    )
    assert envelope.livemode is False
    assert envelope.api_version is None
    assert envelope.account is None
    assert envelope.object_type is None


THIN = {
    "id": "evt_test_65R9",
    "object": "v2.core.event",
    "type": "v1.billing.meter.error_report_triggered",
    "created": "2024-09-17T06:20:52.246Z",
    "livemode": False,
    "context": None,
    "related_object": {"id": "mtr_123", "type": "billing.meter", "url": "/v1/billing/meters/mtr_123"},
    "reason": None,
}


def test_a_thin_event_is_an_event_whose_related_object_stands_in_for_data() -> None:
    envelope = parse_envelope(json.dumps(THIN))
    assert (envelope.event_id, envelope.type) == ("evt_test_65R9", "v1.billing.meter.error_report_triggered")
    assert (envelope.object_type, envelope.object_id) == ("billing.meter", "mtr_123")
    assert envelope.created == datetime(2024, 9, 17, 6, 20, 52, 246000, tzinfo=UTC)
    assert (envelope.livemode, envelope.account, envelope.api_version) == (False, None, None)


@pytest.mark.parametrize("created", [None, 1_726_554_052, "yesterday", ""])
def test_a_thin_event_needs_an_iso_created_time(created: object) -> None:
    with pytest.raises(WebhookError) as refused:
        parse_envelope(json.dumps({**THIN, "created": created}))
    assert refused.value.code == "not_an_event"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{", "invalid_json"),
        ("", "invalid_json"),
        ("nan-ish", "invalid_json"),
        ("[]", "not_an_event"),
        ('"event"', "not_an_event"),
        (with_(object="invoice"), "not_an_event"),
        (with_(id=...), "not_an_event"),
        (with_(id=""), "not_an_event"),
        (with_(id=5), "not_an_event"),
        (with_(id="e" * 256), "not_an_event"),
        (with_(type=...), "not_an_event"),
        (with_(type="t" * 201), "not_an_event"),
        (with_(data=...), "not_an_event"),
        (with_(data={"object": None}), "not_an_event"),
        (with_(data=[]), "not_an_event"),
        (with_(created=...), "not_an_event"),
        (with_(created="yesterday"), "not_an_event"),
        (with_(created=True), "not_an_event"),
        (with_(id="evt_\u0000x"), "not_an_event"),
        (with_(type="invoice.\u0000"), "not_an_event"),
    ],
)
def test_refusals(text: str, code: str) -> None:
    with pytest.raises(WebhookError) as refused:
        parse_envelope(text)
    assert refused.value.code == code
    assert refused.value.status_code == 400


def test_lookup_fields_that_do_not_fit_are_dropped_not_refused() -> None:
    envelope = parse_envelope(with_(api_version="v" * 65, data={"object": {"id": "o" * 256, "object": 5}}))
    assert envelope.api_version is None
    assert envelope.object_id is None
    assert envelope.object_type is None


def test_lookup_fields_with_nul_are_dropped() -> None:
    """PostgreSQL's text cannot hold NUL: such a value would fail the insert (500) instead of being stored."""
    envelope = parse_envelope(with_(account="acct_\u0000", data={"object": {"id": "in_\u0000", "object": "invoice"}}))
    assert envelope.account is None
    assert envelope.object_id is None
    assert envelope.object_type == "invoice"
