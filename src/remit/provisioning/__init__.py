"""The provisioning hand-off: every paid checkout becomes a provisioned tenant, through an orchestrator remit
does not own, over a network that fails.

Modules: ``states`` (the job's and the account's state machines), ``handoff`` (what a checkout owes; pure),
``jobs_table`` (the rows and every guarded statement), ``handlers`` (a paid checkout → one job and its
trigger, in the webhook's transaction), ``trigger`` (the signed POST; the outcome), ``jobs`` (the trigger job
on ``remit_provisioning``), ``callback`` (the orchestrator's write-back and the hand-link), ``reconciler``
(the ten-minute re-drive), ``gauges`` (``remit_provisioning_stuck``), ``operator`` (re-arm and hand-link,
audited), ``orchestrator`` (the stand-in for local use and tests). See ``docs/provisioning.md``.

:data:`PART` declares what it brings to a runtime; :mod:`remit.parts` composes it after the mail part.
"""

from remit.part import Part
from remit.provisioning.gauges import refresh_stuck
from remit.provisioning.handlers import PROVISIONING_HANDLER, provision_paid_checkout
from remit.provisioning.jobs import TRIGGER_JOB, trigger_provisioning
from remit.provisioning.jobs_table import ProvisioningJob
from remit.provisioning.reconciler import RECONCILE_TASK, reconcile
from remit.provisioning.states import (
    ACCOUNT_STATES,
    PROVISIONING_STATES,
    AccountStatus,
    ProvisioningStatus,
)

PART = Part(
    name="provisioning",
    jobs=(trigger_provisioning,),
    periodic=(RECONCILE_TASK,),
    event_handlers=(PROVISIONING_HANDLER,),
    state_machines=(PROVISIONING_STATES, ACCOUNT_STATES),
    collectors=(refresh_stuck,),
)

__all__ = [
    "ACCOUNT_STATES",
    "PART",
    "PROVISIONING_HANDLER",
    "PROVISIONING_STATES",
    "RECONCILE_TASK",
    "TRIGGER_JOB",
    "AccountStatus",
    "ProvisioningJob",
    "ProvisioningStatus",
    "provision_paid_checkout",
    "reconcile",
    "trigger_provisioning",
]
