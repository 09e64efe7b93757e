"""Webhooks: receive processor events durably, dispatch them to the mirror and the host's handlers.

Modules (signatures are :mod:`remit.signing`): ``envelope`` (reading the event envelope),
``ingest`` (one transaction: event row, dispatch job, ledger entry), ``events`` (the record, its statuses and
their transition table), ``store`` (guarded status changes), ``handlers`` (the host's handler registry),
``dispatch`` (the dispatch job and its dead-letter hook), ``held`` (events stored while billing was off),
``dead_letters`` (listing), ``replay``, ``prune``, ``endpoints`` (paths and secrets).

Importing this package registers the dispatch and prune jobs, so a worker that imports it can run them.
"""

from remit.errors import PermanentFailure
from remit.webhooks.dispatch import DISPATCH_JOB, dispatch_event
from remit.webhooks.events import EventStatus, WebhookEvent
from remit.webhooks.handlers import (
    HandlerContext,
    HandlerRegistry,
    default_handlers,
    on_event,
    register_handler,
)
from remit.webhooks.held import release_held
from remit.webhooks.prune import CRON_JOBS, prune_webhook_events

__all__ = [
    "CRON_JOBS",
    "DISPATCH_JOB",
    "EventStatus",
    "HandlerContext",
    "HandlerRegistry",
    "PermanentFailure",
    "WebhookEvent",
    "default_handlers",
    "dispatch_event",
    "on_event",
    "prune_webhook_events",
    "register_handler",
    "release_held",
]
