from remit.processor.base import API_VERSION
from remit.processor.fake.events import envelope, previous_attributes, thin_envelope
from remit.processor.fake.render import render, stripe_order

FIXTURE_ENVELOPE_KEYS = {
    "id",
    "object",
    "api_version",
    "created",
    "data",
    "livemode",
    "pending_webhooks",
    "request",
    "type",
}


def test_previous_attributes_hold_only_what_changed_with_old_values():
    before = {
        "status": "open",
        "paid": False,
        "same": 1,
        "nested": {"a": 1, "b": 2},
        "refunds": {"object": "list", "data": [], "total_count": 0, "url": "/x"},
    }
    after = {
        "status": "paid",
        "paid": True,
        "same": 1,
        "nested": {"a": 1, "b": 3},
        "added": "x",
        "refunds": {"object": "list", "data": [{"id": "re_1"}], "total_count": 1, "url": "/x"},
    }
    assert previous_attributes(before, after) == {
        "added": None,
        "nested": {"b": 2},
        "paid": False,
        "status": "open",
        "refunds": {"data": [], "total_count": 0},
    }


def test_envelope_has_stripes_keys_and_snapshots_the_object():
    obj = {"id": "cus_1", "object": "customer", "metadata": {}}
    event = envelope(
        "evt_1", "customer.updated", obj, created=10, request_id="req_1", idempotency_key="k", previous={"email": None}
    )
    obj["metadata"]["later"] = "change"
    assert set(event) == FIXTURE_ENVELOPE_KEYS
    assert event["api_version"] == API_VERSION
    assert event["data"] == {
        "object": {"id": "cus_1", "object": "customer", "metadata": {}},
        "previous_attributes": {"email": None},
    }
    assert event["request"] == {"id": "req_1", "idempotency_key": "k"}
    assert "account" in envelope("evt_2", "x", obj, created=1, request_id=None, idempotency_key=None, account="acct_1")


def test_thin_events_reference_instead_of_snapshotting():
    event = thin_envelope("evt_1", "v1.billing.meter.no_meter_found", created=0, related_object=None)
    assert event["object"] == "v2.core.event"
    assert event["created"] == "1970-01-01T00:00:00Z"
    assert "data" not in event


def test_render_puts_id_and_object_first_then_alphabetical():
    text = render({"b": 1, "object": "x", "a": {"z": 1, "id": "i"}, "id": "y"}, pretty=False)
    assert text == '{"id": "y", "object": "x", "a": {"id": "i", "z": 1}, "b": 1}'
    assert list(stripe_order({"type": 1, "id": 2})) == ["id", "type"]
