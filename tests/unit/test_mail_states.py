"""The mail log's state machine: walk every pair of states against the one transition table; how a mail ended."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from remit.mail.kinds import MailKind
from remit.mail.log import (
    FINISHED,
    TRANSITIONS,
    MailOutcome,
    MailRecord,
    MailState,
    MailStateError,
    check_transition,
    sources_of,
)

ALLOWED = {
    ("pending", "sending"),
    ("pending", "skipped"),
    ("pending", "failed"),
    ("sending", "sent"),
    ("sending", "pending"),
    ("sending", "sending"),
    ("sending", "failed"),
    ("failed", "pending"),
    ("skipped", "pending"),
}


@pytest.mark.parametrize(("source", "target"), list(itertools.product(MailState, MailState)))
def test_every_pair_follows_the_table(source: MailState, target: MailState) -> None:
    if (source.value, target.value) in ALLOWED:
        check_transition(source, target)
    else:
        with pytest.raises(MailStateError):
            check_transition(source, target)


def test_sent_is_the_only_dead_end_and_finished_states_are_left_only_by_an_operator() -> None:
    assert set(TRANSITIONS) == set(MailState)
    assert [state for state, targets in TRANSITIONS.items() if not targets] == [MailState.SENT]
    assert {MailState.SENT, MailState.FAILED, MailState.SKIPPED} == FINISHED
    for state in FINISHED:
        assert TRANSITIONS[state] <= {MailState.PENDING}


def test_guards_name_exactly_the_sources_the_table_allows() -> None:
    assert sources_of(MailState.SENT) == ["sending"]
    assert sources_of(MailState.SENDING) == ["pending", "sending"]
    assert sources_of(MailState.PENDING) == ["failed", "sending", "skipped"]
    assert sources_of(MailState.SKIPPED) == ["pending"]


def record(state: MailState, deliveries: int) -> MailRecord:
    at = datetime(2025, 6, 1, tzinfo=UTC)
    return MailRecord(
        id=1,
        key="receipt:in_1",
        kind=MailKind.RECEIPT,
        state=state,
        subject_id="in_1",
        customer_id="cus_1",
        params={},
        message_id="<m@x>",
        deliveries=deliveries,
        transport=None,
        attachment=None,
        last_error=None,
        created_at=at,
        updated_at=at,
        sending_at=None,
        sent_at=None,
    )


@pytest.mark.parametrize(
    ("state", "deliveries", "outcome"),
    [
        (MailState.PENDING, 0, None),
        (MailState.SENDING, 1, None),
        (MailState.SENT, 1, MailOutcome.SENT),
        (MailState.SENT, 2, MailOutcome.DUPLICATE_WINDOW),
        (MailState.FAILED, 2, MailOutcome.FAILED),
        (MailState.SKIPPED, 0, MailOutcome.SKIPPED),
    ],
)
def test_a_mail_has_an_outcome_once_finished_and_a_second_hand_over_opens_the_duplicate_window(
    state: MailState, deliveries: int, outcome: MailOutcome | None
) -> None:
    assert record(state, deliveries).outcome == outcome
    assert (outcome is not None) == (state in FINISHED)
