"""The dunning policy (pure): how long a past-due subscription keeps its grace, and what ends it.

A subscription the processor reports ``past_due`` opens a case (``in_grace``) with a grace end of
``past_due_since + grace_days``. Once the grace is over, the sweeper asks the processor for the terminal state
(``unpaid`` or ``canceled``, from configuration) and the case is ``requested``; the processor's webhook that
shows the subscription in a terminal state makes it ``exhausted``. A payment at any point makes it
``recovered``; a recovered subscription that falls past due again opens a new grace. A failed request leaves
the case ``in_grace`` with one more attempt counted, so the next sweep asks again under a new idempotency key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from remit.config import Settings
from remit.statemachine import StateMachine


class CaseState(StrEnum):
    IN_GRACE = "in_grace"
    REQUESTED = "requested"
    EXHAUSTED = "exhausted"
    RECOVERED = "recovered"


class Terminal(StrEnum):
    """The terminal state the sweeper asks for."""

    UNPAID = "unpaid"
    CANCELED = "canceled"


#: Subscription statuses that end dunning (the processor's, whoever asked for them).
TERMINAL_STATUSES = frozenset({"unpaid", "canceled"})
#: Statuses that mean the customer paid: the case is recovered.
GOOD_STATUSES = frozenset({"active", "trialing"})
PAST_DUE = "past_due"

#: Where the ops event says the exhaustion came from.
SOURCE_SWEEPER = "remit_sweeper"
SOURCE_PROCESSOR = "processor"

DUNNING_STATES = StateMachine(
    "dunning_case",
    CaseState,
    {
        CaseState.IN_GRACE: {CaseState.REQUESTED, CaseState.EXHAUSTED, CaseState.RECOVERED},
        CaseState.REQUESTED: {CaseState.EXHAUSTED, CaseState.RECOVERED},
        CaseState.EXHAUSTED: {CaseState.RECOVERED},
        CaseState.RECOVERED: {CaseState.IN_GRACE},
    },
    terminal=frozenset({CaseState.EXHAUSTED, CaseState.RECOVERED}),
)


@dataclass(frozen=True, slots=True)
class DunningPolicy:
    grace_days: int = 14
    terminal: Terminal = Terminal.UNPAID

    @classmethod
    def from_settings(cls, settings: Settings) -> DunningPolicy:
        return cls(settings.dunning_grace_days, Terminal(settings.dunning_terminal))

    def grace_until(self, past_due_since: datetime) -> datetime:
        return past_due_since + timedelta(days=self.grace_days)

    def is_due(self, state: CaseState, grace_until: datetime, now: datetime) -> bool:
        """Whether a sweep at ``now`` asks the processor to end this case."""
        return state is CaseState.IN_GRACE and now >= grace_until


def idempotency_key(subscription_id: str, attempt: int) -> str:
    """One key per subscription and attempt: a retried job converges on its attempt's answer; the next sweep,
    after a failure, asks afresh."""
    return f"remit-dunning:{subscription_id}:{attempt}"


def exhaustion_source(state: CaseState) -> str:
    """``remit_sweeper`` when remit had asked for the terminal state, else ``processor``."""
    return SOURCE_SWEEPER if state is CaseState.REQUESTED else SOURCE_PROCESSOR


__all__ = [
    "DUNNING_STATES",
    "GOOD_STATUSES",
    "PAST_DUE",
    "SOURCE_PROCESSOR",
    "SOURCE_SWEEPER",
    "TERMINAL_STATUSES",
    "CaseState",
    "DunningPolicy",
    "Terminal",
    "exhaustion_source",
    "idempotency_key",
]
