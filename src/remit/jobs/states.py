"""Job states and the one table of transitions between them.

Every state change the engine makes is listed here, in :data:`JOB_STATES` (a
:class:`~remit.statemachine.StateMachine`): each guarded UPDATE is built from it or checked against it, and a
test walks the whole table (with every other machine remit declares).

- ``available``: ready to run now.
- ``scheduled``: to run at ``scheduled_at`` (inserted for later, or snoozed).
- ``executing``: claimed by a worker; ``attempt`` counts this run.
- ``retryable``: the last attempt failed; it runs again at ``scheduled_at``.
- ``completed``, ``discarded`` (attempts exhausted), ``cancelled``: finished.
"""

from __future__ import annotations

from enum import StrEnum

from remit.errors import JobError
from remit.statemachine import StateMachine


class JobState(StrEnum):
    AVAILABLE = "available"
    SCHEDULED = "scheduled"
    EXECUTING = "executing"
    RETRYABLE = "retryable"
    COMPLETED = "completed"
    DISCARDED = "discarded"
    CANCELLED = "cancelled"


#: States a worker may claim from, once ``scheduled_at`` has passed.
RUNNABLE = frozenset({JobState.AVAILABLE, JobState.SCHEDULED, JobState.RETRYABLE})
#: States in which a job still counts against its unique key.
PENDING = RUNNABLE | {JobState.EXECUTING}
#: States a job never leaves on its own.
FINISHED = frozenset({JobState.COMPLETED, JobState.DISCARDED, JobState.CANCELLED})

TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.AVAILABLE: frozenset({JobState.EXECUTING, JobState.CANCELLED}),
    JobState.SCHEDULED: frozenset({JobState.EXECUTING, JobState.AVAILABLE, JobState.CANCELLED}),
    JobState.RETRYABLE: frozenset({JobState.EXECUTING, JobState.AVAILABLE, JobState.CANCELLED}),
    JobState.EXECUTING: frozenset(
        {
            JobState.COMPLETED,  # the job returned
            JobState.RETRYABLE,  # it failed with attempts left
            JobState.DISCARDED,  # it failed on its last attempt
            JobState.CANCELLED,  # it cancelled itself
            JobState.SCHEDULED,  # it snoozed (no attempt spent)
            JobState.AVAILABLE,  # its worker died or shut down (rescued or released)
        }
    ),
    JobState.COMPLETED: frozenset(),
    JobState.DISCARDED: frozenset({JobState.AVAILABLE}),  # operator retry
    JobState.CANCELLED: frozenset({JobState.AVAILABLE}),  # operator retry
}


JOB_STATES = StateMachine("job", JobState, TRANSITIONS, terminal=FINISHED, error=JobError)


def can_transition(source: JobState, target: JobState) -> bool:
    return JOB_STATES.can(source, target)


def check_transition(source: JobState, target: JobState) -> None:
    """Raise :class:`JobError` for a state change the table does not allow."""
    JOB_STATES.check(source, target)


def sources_of(target: JobState) -> frozenset[JobState]:
    """Every state from which ``target`` may be reached; used to guard UPDATEs."""
    return JOB_STATES.sources_of(target)
