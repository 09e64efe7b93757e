"""Pure retry policy and outcome planning."""

from datetime import UTC, datetime, timedelta

import pytest

from remit.jobs.outcomes import Cancelled, Completed, Discarded, Failed, Snoozed, plan
from remit.jobs.records import Job, describe_error
from remit.jobs.retry import Backoff, backoff_delay
from remit.jobs.states import JobState

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def make_job(**overrides):
    fields = dict(
        id=1,
        queue="q",
        name="n",
        args={},
        state=JobState.EXECUTING,
        priority=0,
        attempt=1,
        max_attempts=3,
        unique_key=None,
        scheduled_at=NOW,
        inserted_at=NOW,
        attempted_at=NOW,
        finished_at=None,
        attempted_by="w",
        timeout=None,
        errors=[],
        meta={},
    )
    fields.update(overrides)
    return Job(**fields)


def test_backoff_grows_exponentially_and_is_capped():
    policy = Backoff(base=1, factor=2, cap=10, jitter=0)
    assert [backoff_delay(n, policy, 0.5) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_backoff_jitter_spreads_within_bounds():
    policy = Backoff(base=100, factor=2, cap=1000, jitter=0.1)
    assert backoff_delay(1, policy, 0.0) == pytest.approx(90)
    assert backoff_delay(1, policy, 0.999999) == pytest.approx(110, rel=1e-4)
    assert backoff_delay(1000, policy, 0.5) == pytest.approx(1000)


def test_backoff_rejects_nonsense():
    with pytest.raises(ValueError, match="1-based"):
        backoff_delay(0, Backoff(), 0.5)
    with pytest.raises(ValueError, match="jitter"):
        Backoff(jitter=2)


def test_completed_plan():
    assert plan(make_job(), Completed(), now=NOW, backoff=Backoff(), rand=0.5).target is JobState.COMPLETED


def test_failure_with_attempts_left_is_retried_later():
    decided = plan(make_job(attempt=2), Failed({"type": "E"}), now=NOW, backoff=Backoff(base=1, jitter=0), rand=0.5)
    assert decided.target is JobState.RETRYABLE
    assert decided.values["scheduled_at"] == NOW + timedelta(seconds=2)
    assert decided.values["errors"] == [{"type": "E"}]


def test_failure_on_last_attempt_discards():
    decided = plan(
        make_job(attempt=3, errors=[{"type": "A"}]), Failed({"type": "B"}), now=NOW, backoff=Backoff(), rand=0.5
    )
    assert decided.target is JobState.DISCARDED
    assert [e["type"] for e in decided.values["errors"]] == ["A", "B"]


def test_failure_needs_loaded_errors():
    with pytest.raises(ValueError, match="errors loaded"):
        plan(make_job(errors=None), Failed({"type": "E"}), now=NOW, backoff=Backoff(), rand=0.5)


def test_snooze_gives_the_attempt_back():
    decided = plan(make_job(attempt=3, max_attempts=3), Snoozed(30, "429"), now=NOW, backoff=Backoff(), rand=0.5)
    assert decided.target is JobState.SCHEDULED
    assert decided.values["max_attempts"] == 4
    assert decided.values["scheduled_at"] == NOW + timedelta(seconds=30)
    assert decided.values["meta"] == {"snoozed": 1, "snooze_reason": "429"}
    assert decided.label == "snoozed"


def test_cancel_plan_keeps_reason():
    decided = plan(make_job(), Cancelled("gone"), now=NOW, backoff=Backoff(), rand=0.5)
    assert decided.target is JobState.CANCELLED
    assert decided.values["meta"]["cancelled"] == "gone"


def test_discard_ends_the_job_at_once_with_attempts_left():
    decided = plan(
        make_job(attempt=1, max_attempts=5, errors=[]),
        Discarded({"type": "Discard", "message": "bad"}),
        now=NOW,
        backoff=Backoff(),
        rand=0.5,
    )
    assert decided.target is JobState.DISCARDED
    assert decided.values == {"errors": [{"type": "Discard", "message": "bad"}]}  # no retry time, no attempt back
    assert decided.label == "discarded"


def test_discard_keeps_earlier_errors():
    decided = plan(
        make_job(attempt=2, errors=[{"type": "A"}]),
        Discarded({"type": "Discard"}),
        now=NOW,
        backoff=Backoff(),
        rand=0.5,
    )
    assert [e["type"] for e in decided.values["errors"]] == ["A", "Discard"]


def test_discard_needs_loaded_errors():
    with pytest.raises(ValueError, match="errors loaded"):
        plan(make_job(errors=None), Discarded({"type": "Discard"}), now=NOW, backoff=Backoff(), rand=0.5)


def test_error_description_is_truncated_and_has_no_traceback():
    described = describe_error(ValueError("x" * 2000), 2, NOW)
    assert described["type"] == "ValueError"
    assert len(described["message"]) == 500
    assert set(described) == {"attempt", "at", "type", "message"}
