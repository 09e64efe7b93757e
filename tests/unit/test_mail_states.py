"""The mail log's state machine: walk every pair of states against the one transition table."""

from __future__ import annotations

import itertools

import pytest

from remit.mail.log import FINISHED, TRANSITIONS, MailState, MailStateError, check_transition, sources_of

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
