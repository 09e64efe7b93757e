"""Money: failed payments, dunning, fee reconciliation and revenue loss, payment sync, expiring cards.

Modules: ``failures`` (reading failed payments and expired signups from events; pure), ``handlers`` (their ops
events, once each), ``signals`` (the once-only guard), ``policy`` (the dunning policy and its case states;
pure), ``dunning`` (cases, the confirming handler, the sweeper and its processor request), ``fees`` (what a
balance transaction changes; pure), ``losses`` (revenue-loss reasons; pure), ``reconcile`` (the fee pass),
``sync`` (payment sync), ``cards`` (expiring-card notices). See
``docs/money.md``.

:data:`PART` declares what the money part brings to a runtime; :mod:`remit.parts` composes it after the mail
part, so its handlers run after the mirror has stored the object. Importing the package registers nothing.
"""

from remit.money.cards import CARD_TASK
from remit.money.dunning import SUBSCRIPTION_HANDLER, SWEEP_TASK, dunning_gauges, terminate
from remit.money.handlers import CHARGE_FAILED_HANDLER, DISPUTE_HANDLER, INCOMPLETE_EXPIRED_HANDLER
from remit.money.policy import DUNNING_STATES, CaseState, DunningPolicy, Terminal
from remit.money.reconcile import FEE_TASK
from remit.money.sync import SYNC_TASK
from remit.part import Part

PART = Part(
    name="money",
    jobs=(terminate,),
    periodic=(SWEEP_TASK, FEE_TASK, SYNC_TASK, CARD_TASK),
    event_handlers=(CHARGE_FAILED_HANDLER, INCOMPLETE_EXPIRED_HANDLER, SUBSCRIPTION_HANDLER, DISPUTE_HANDLER),
    state_machines=(DUNNING_STATES,),
    collectors=(dunning_gauges,),
)

__all__ = ["DUNNING_STATES", "PART", "CaseState", "DunningPolicy", "Terminal"]
