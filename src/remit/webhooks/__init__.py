"""Webhooks: receive processor events durably, dispatch them to the mirror and the handlers after it.

Modules (signatures are :mod:`remit.signing`): ``envelope`` (reading the event envelope),
``ingest`` (one transaction: event row, dispatch job, ledger entry), ``events`` (the record, its statuses and
their state machine), ``store`` (guarded status changes), ``handlers`` (the context a handler gets, and
``on_event``), ``dispatch`` (the dispatch job, the mirror projection handler, the dead-letter hook), ``held``
(events stored while billing was off), ``dead_letters`` (listing), ``replay``, ``prune`` (the periodic task),
``endpoints`` (paths and secrets).

Importing this package registers nothing: :data:`PART` declares what the webhooks part brings to a runtime
(its dispatch job, its mirror projection handler — the first handler of every event —, its daily prune and
its state machine), and :mod:`remit.parts` composes it.
"""

from remit.errors import PermanentFailure
from remit.part import Part
from remit.webhooks.dispatch import DISPATCH_JOB, MIRROR_HANDLER, dispatch_event
from remit.webhooks.events import EVENT_STATES, EventStatus, WebhookEvent
from remit.webhooks.gauges import webhook_gauges
from remit.webhooks.handlers import HandlerContext, HandlerRegistry, on_event
from remit.webhooks.held import RELEASE_TASK, release_held
from remit.webhooks.prune import PRUNE_TASK, prune_events

PART = Part(
    name="webhooks",
    jobs=(dispatch_event,),
    periodic=(PRUNE_TASK, RELEASE_TASK),
    event_handlers=(MIRROR_HANDLER,),
    state_machines=(EVENT_STATES,),
    collectors=(webhook_gauges,),
)

__all__ = [
    "DISPATCH_JOB",
    "EVENT_STATES",
    "MIRROR_HANDLER",
    "PART",
    "PRUNE_TASK",
    "RELEASE_TASK",
    "EventStatus",
    "HandlerContext",
    "HandlerRegistry",
    "PermanentFailure",
    "WebhookEvent",
    "dispatch_event",
    "on_event",
    "prune_events",
    "release_held",
]
