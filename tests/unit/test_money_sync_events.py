"""The pure half of payment sync's event read: which objects the listed events show stale, and how the cursor
moves (a complete read, a backlog read downwards from its last event, a second fuller than a pass)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from remit.billing.watermark import Watermark
from remit.money.sync import BY_TYPE, synthetic_event
from remit.money.sync_events import EVENT_TYPES, Cursor, advance, newest_per_object, read_window, stale_objects

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def at(seconds: int) -> int:
    return int(T0.timestamp()) + seconds


def event(event_id: str, event_type: str, obj: dict[str, Any], created: int) -> dict[str, Any]:
    return {"id": event_id, "object": "event", "type": event_type, "created": created, "data": {"object": obj}}


def subscription(status: str) -> dict[str, Any]:
    return {"id": "sub_1", "object": "subscription", "status": status}


def test_the_types_fit_stripes_types_parameter() -> None:
    assert len(EVENT_TYPES) <= 20
    assert len(set(EVENT_TYPES)) == len(EVENT_TYPES)
    assert not [name for name in EVENT_TYPES if "*" in name]


def test_an_objects_newest_event_wins_and_unsynced_objects_are_left_out() -> None:
    events = [
        event("evt_b", "customer.subscription.deleted", subscription("canceled"), at(20)),
        event("evt_a", "customer.subscription.updated", subscription("active"), at(10)),
        event("evt_c", "customer.updated", {"id": "cus_1", "object": "customer"}, at(30)),
        event("evt_d", "charge.refund.updated", {"id": "re_1", "object": "refund"}, at(30)),
        {"id": "evt_bad", "object": "event", "type": "charge.updated"},  # no created: cannot be ordered
    ]
    newest = newest_per_object(events)
    assert list(newest) == [("subscription", "sub_1")]
    found = newest[("subscription", "sub_1")]
    assert (found.watermark.event_id, found.deleting, found.event_type) == (
        "evt_b",
        True,
        "customer.subscription.deleted",
    )


def test_stale_means_newer_than_the_rows_watermark_or_no_row() -> None:
    newest = newest_per_object(
        [
            event("evt_s", "customer.subscription.updated", subscription("past_due"), at(50)),
            event("evt_i", "invoice.voided", {"id": "in_1", "object": "invoice", "status": "void"}, at(40)),
            event("evt_c", "charge.refunded", {"id": "ch_1", "object": "charge"}, at(30)),
        ]
    )
    same = newest[("subscription", "sub_1")].watermark  # the webhook delivered this very event
    stored = {
        ("subscription", "sub_1"): same,
        ("invoice", "in_1"): Watermark(T0 + timedelta(seconds=39), 0, 1, "evt_old"),
        ("charge", "ch_1"): Watermark(T0 + timedelta(seconds=31), 0, 1, "evt_remit_sync_ch_1"),  # healed
    }
    assert stale_objects(newest, stored) == [("invoice", "in_1")]
    assert stale_objects(newest, {}) == [("charge", "ch_1"), ("invoice", "in_1"), ("subscription", "sub_1")]


def test_the_window_starts_an_overlap_before_the_cursor_and_stops_at_the_backlog() -> None:
    assert read_window(Cursor(T0), timedelta(minutes=5)) == (at(-300), None)
    assert read_window(Cursor(T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)), timedelta(0)) == (
        at(0),
        at(3600),
    )


def test_a_complete_read_moves_the_cursor_to_the_newest_event() -> None:
    read = [{"created": at(90)}, {"created": at(60)}]
    assert advance(Cursor(T0), read, complete=True) == Cursor(T0 + timedelta(seconds=90))
    assert advance(Cursor(T0), [], complete=True) == Cursor(T0)  # nothing new: stays


def test_a_backlog_is_read_downwards_and_then_the_cursor_jumps_to_the_newest_read() -> None:
    first = advance(
        Cursor(T0), [{"id": "evt_9", "created": at(900)}, {"id": "evt_8", "created": at(800)}], complete=False
    )
    assert first == Cursor(T0, T0 + timedelta(seconds=800), T0 + timedelta(seconds=900), "evt_8")
    second = advance(first, [{"id": "evt_7", "created": at(800)}, {"id": "evt_5", "created": at(500)}], complete=False)
    assert second == Cursor(T0, T0 + timedelta(seconds=500), T0 + timedelta(seconds=900), "evt_5")
    assert advance(second, [{"id": "evt_4", "created": at(400)}], complete=True) == Cursor(T0 + timedelta(seconds=900))


def test_a_second_fuller_than_a_pass_is_continued_from_its_last_event_read_never_stepped_past() -> None:
    cursor = Cursor(T0, T0 + timedelta(seconds=500), T0 + timedelta(seconds=900), "evt_a")
    busy = advance(cursor, [{"id": "evt_b", "created": at(500)}, {"id": "evt_c", "created": at(500)}], complete=False)
    assert busy == Cursor(T0, T0 + timedelta(seconds=500), T0 + timedelta(seconds=900), "evt_c")
    assert read_window(busy, timedelta(0)) == (at(0), at(500))  # the same second, from after evt_c
    assert advance(cursor, [{"created": at(500)}], complete=False) == cursor  # no id to continue from: again


def test_a_refetch_is_stamped_past_the_newest_event_it_saw_and_keeps_a_deleting_type() -> None:
    newest = newest_per_object(
        [event("evt_d", "customer.subscription.deleted", subscription("canceled"), at(100))]  # processor ahead
    )[("subscription", "sub_1")]
    kind = BY_TYPE["subscription"]
    stamped = synthetic_event(kind, subscription("canceled"), T0, T0 - timedelta(hours=1), newest)
    assert (stamped["created"], stamped["type"]) == (at(101), "customer.subscription.deleted")
    plain = synthetic_event(kind, subscription("active"), T0 + timedelta(seconds=500), None)
    assert (plain["created"], plain["type"]) == (at(500), "customer.subscription.updated")
