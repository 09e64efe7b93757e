"""The webhook event status table: walked exhaustively, and the paths the dispatch job takes exist."""

from __future__ import annotations

import itertools
from collections import deque
from datetime import UTC, datetime

import pytest

from remit.errors import WebhookError
from remit.webhooks.events import (
    REPLAYABLE,
    TRANSITIONS,
    EventStatus,
    WebhookEvent,
    can_transition,
    check_transition,
    source_values,
    sources_of,
)

S = EventStatus


def test_every_status_has_a_row() -> None:
    assert set(TRANSITIONS) == set(EventStatus)


@pytest.mark.parametrize("source", list(EventStatus))
@pytest.mark.parametrize("target", list(EventStatus))
def test_every_pair_is_allowed_exactly_when_the_table_says(source: EventStatus, target: EventStatus) -> None:
    allowed = target in TRANSITIONS[source]
    assert can_transition(source, target) is allowed
    assert (source in sources_of(target)) is allowed
    if allowed:
        check_transition(source, target)
    else:
        with pytest.raises(WebhookError) as refused:
            check_transition(source, target)
        assert refused.value.code == "invalid_transition"


def _reachable(start: EventStatus) -> set[EventStatus]:
    seen, queue = {start}, deque([start])
    while queue:
        for target in TRANSITIONS[queue.popleft()]:
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def test_every_status_is_reachable_from_arrival() -> None:
    assert _reachable(S.RECEIVED) | _reachable(S.HELD) == set(EventStatus)


def test_every_status_can_end_processed_or_dead() -> None:
    for status in EventStatus:
        assert _reachable(status) & {S.PROCESSED, S.DEAD}, status


def test_processed_is_final() -> None:
    assert TRANSITIONS[S.PROCESSED] == frozenset()


@pytest.mark.parametrize(
    "path",
    [
        [S.RECEIVED, S.PROCESSING, S.PROCESSED],
        [S.RECEIVED, S.PROCESSING, S.FAILED, S.PROCESSING, S.PROCESSED],
        [S.RECEIVED, S.PROCESSING, S.FAILED, S.DEAD, S.RECEIVED, S.PROCESSING, S.PROCESSED],
        [S.HELD, S.RECEIVED, S.PROCESSING, S.PROCESSED],
        [S.RECEIVED, S.HELD, S.RECEIVED],
        [S.RECEIVED, S.PROCESSING, S.PROCESSING, S.DEAD],
        [S.RECEIVED, S.PROCESSING, S.RECEIVED, S.PROCESSING, S.PROCESSED],
        [S.FAILED, S.RECEIVED],
    ],
)
def test_the_paths_dispatch_and_operators_take_are_allowed(path: list[EventStatus]) -> None:
    for source, target in itertools.pairwise(path):
        check_transition(source, target)


def test_only_dead_and_failed_events_are_replayable() -> None:
    assert frozenset({S.DEAD, S.FAILED}) == REPLAYABLE


def test_source_values_are_the_stored_strings_sorted() -> None:
    assert source_values(S.PROCESSING) == ["failed", "processing", "received"]


def _row(**overrides: object) -> dict[str, object]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    row: dict[str, object] = {
        "id": 7,
        "endpoint": "default",
        "processor": "stripe",
        "event_id": "evt_1",
        "type": "invoice.paid",
        "livemode": 0,
        "api_version": None,
        "account": None,
        "status": "dead",
        "object_id": "in_1",
        "object_type": "invoice",
        "event_created_at": now,
        "received_at": now,
        "attempts": 3,
        "last_error": {"type": "RuntimeError"},
        "processed_at": None,
        "dead_at": now,
        "handler_results": None,
        "body": '{"secret": "customer data"}',
    }
    row.update(overrides)
    return row


def test_the_record_reads_a_row_and_hides_the_body_unless_asked() -> None:
    record = WebhookEvent.from_row(_row())
    assert record.status is S.DEAD
    assert record.livemode is False
    assert record.handler_results == {}
    shown = record.to_json()
    assert "body" not in shown
    assert shown["dead_at"] == "2026-01-01T00:00:00+00:00"
    assert record.to_json(include_body=True)["body"] == '{"secret": "customer data"}'
    assert "customer data" not in repr(record)


def test_the_record_reads_a_row_without_a_body() -> None:
    row = _row()
    del row["body"]
    assert WebhookEvent.from_row(row).body is None


def test_replayable_statuses_may_move_to_received() -> None:
    assert sources_of(S.RECEIVED) >= REPLAYABLE
