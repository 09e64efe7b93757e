"""The dunning policy (pure): grace, when a sweep asks, the idempotency key, the exhaustion's source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from remit.config import Settings
from remit.money.policy import CaseState, DunningPolicy, Terminal, exhaustion_source, idempotency_key

SINCE = datetime(2025, 6, 1, tzinfo=UTC)


def test_the_policy_comes_from_configuration_with_fourteen_days_by_default() -> None:
    default = DunningPolicy.from_settings(Settings.model_validate({}))
    assert default == DunningPolicy(14, Terminal.UNPAID)
    chosen = Settings.model_validate({"REMIT_DUNNING_GRACE_DAYS": "3", "REMIT_DUNNING_TERMINAL": "canceled"})
    assert DunningPolicy.from_settings(chosen) == DunningPolicy(3, Terminal.CANCELED)


def test_a_case_is_due_only_in_grace_and_at_or_past_its_end() -> None:
    policy = DunningPolicy(14, Terminal.UNPAID)
    until = policy.grace_until(SINCE)
    assert until == SINCE + timedelta(days=14)
    assert not policy.is_due(CaseState.IN_GRACE, until, until - timedelta(seconds=1))
    assert policy.is_due(CaseState.IN_GRACE, until, until)
    for state in (CaseState.REQUESTED, CaseState.EXHAUSTED, CaseState.RECOVERED):
        assert not policy.is_due(state, until, until + timedelta(days=30))


def test_keys_differ_per_attempt_and_the_source_names_who_asked() -> None:
    assert idempotency_key("sub_1", 1) == "remit-dunning:sub_1:1"
    assert idempotency_key("sub_1", 2) != idempotency_key("sub_1", 1)
    assert exhaustion_source(CaseState.REQUESTED) == "remit_sweeper"
    assert exhaustion_source(CaseState.IN_GRACE) == "processor"
