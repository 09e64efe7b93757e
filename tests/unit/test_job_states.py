"""The job state machine: walk every pair of states against the one transition table."""

import itertools

import pytest

from remit.errors import JobError
from remit.jobs.states import FINISHED, PENDING, RUNNABLE, TRANSITIONS, JobState, check_transition, sources_of

ALLOWED = {
    ("available", "executing"),
    ("available", "cancelled"),
    ("scheduled", "executing"),
    ("scheduled", "available"),
    ("scheduled", "cancelled"),
    ("retryable", "executing"),
    ("retryable", "available"),
    ("retryable", "cancelled"),
    ("executing", "completed"),
    ("executing", "retryable"),
    ("executing", "discarded"),
    ("executing", "cancelled"),
    ("executing", "scheduled"),
    ("executing", "available"),
    ("discarded", "available"),
    ("cancelled", "available"),
}


@pytest.mark.parametrize(("source", "target"), list(itertools.product(JobState, JobState)))
def test_every_pair_follows_the_table(source, target):
    if (source.value, target.value) in ALLOWED:
        check_transition(source, target)
    else:
        with pytest.raises(JobError):
            check_transition(source, target)


def test_every_state_has_a_row_and_completed_is_terminal():
    assert set(TRANSITIONS) == set(JobState)
    assert TRANSITIONS[JobState.COMPLETED] == frozenset()


def test_state_groups():
    assert RUNNABLE | {JobState.EXECUTING} == PENDING
    assert PENDING.isdisjoint(FINISHED)
    assert set(JobState) == PENDING | FINISHED
    assert sources_of(JobState.EXECUTING) == RUNNABLE
