"""The provisioning job's and the account's state machines (walked by ``tests/unit/test_state_machines.py``).

A provisioning job::

    enqueued ──callback "provisioning"──▶ provisioning ──callback "provisioned" / hand-link──▶ provisioned
       │  ▲                                   │
       │  └──── re-arm (from provisioning ────┤
       │        or failed), or an accepted    ▼
       │        re-drive of a failed job
       └──────── callback "failed" ───────▶ failed ──callback "provisioned" (a later success)──▶ provisioned

``enqueued`` means handed off (or about to be) and awaiting the callback. A trigger attempt changes no status,
only ``attempts``, ``last_attempt_at`` and ``last_error``; a re-drive the orchestrator accepts puts a
``failed`` job back to ``enqueued``. ``provisioned`` has no exit: nothing — a late ``failed`` callback, a
replayed ``provisioning``, an operator's re-arm — downgrades it, because every status write is a guarded
UPDATE whose ``WHERE status IN (…)`` lists only the sources the table allows.

An account: ``pending`` → ``active`` (provisioned) → ``suspended`` (and back to ``active``).
"""

from __future__ import annotations

from enum import StrEnum

from remit.errors import RemitError
from remit.statemachine import StateMachine


class ProvisioningStatus(StrEnum):
    ENQUEUED = "enqueued"
    PROVISIONING = "provisioning"
    PROVISIONED = "provisioned"
    FAILED = "failed"


class ProvisioningStateError(RemitError):
    """A provisioning status change the table does not allow."""


P = ProvisioningStatus
TRANSITIONS: dict[ProvisioningStatus, frozenset[ProvisioningStatus]] = {
    P.ENQUEUED: frozenset({P.PROVISIONING, P.PROVISIONED, P.FAILED}),
    P.PROVISIONING: frozenset({P.PROVISIONED, P.FAILED, P.ENQUEUED}),
    P.FAILED: frozenset({P.ENQUEUED, P.PROVISIONING, P.PROVISIONED}),
    P.PROVISIONED: frozenset(),
}
#: Statuses a job can still leave on its own: the gauge and the reconciler look at these only.
OPEN_STATUSES: tuple[ProvisioningStatus, ...] = (P.ENQUEUED, P.PROVISIONING, P.FAILED)

PROVISIONING_STATES = StateMachine(
    "provisioning_job",
    ProvisioningStatus,
    TRANSITIONS,
    terminal=frozenset({P.PROVISIONED}),
    error=ProvisioningStateError,
)


class AccountStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"


ACCOUNT_STATES = StateMachine(
    "account",
    AccountStatus,
    {
        AccountStatus.PENDING: {AccountStatus.ACTIVE},
        AccountStatus.ACTIVE: {AccountStatus.SUSPENDED},
        AccountStatus.SUSPENDED: {AccountStatus.ACTIVE},
    },
    terminal=frozenset({AccountStatus.ACTIVE}),
)

__all__ = [
    "ACCOUNT_STATES",
    "OPEN_STATUSES",
    "PROVISIONING_STATES",
    "TRANSITIONS",
    "AccountStatus",
    "ProvisioningStateError",
    "ProvisioningStatus",
]
