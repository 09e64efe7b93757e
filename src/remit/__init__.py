"""remit: a billing-operations engine.

Webhooks in, a trustworthy billing mirror out, on a durable job engine that lives in the same SQL database as
the billing data. ``build_runtime(settings)`` composes remit's parts and the host's modules into a
:class:`Runtime`; its ``engine`` is the job engine's one seam.
"""

from __future__ import annotations

from remit.billing.actions import (
    ActionInProgress,
    ActionRefused,
    ActionResult,
    BillingActionError,
    IdempotencyKeyReused,
    InvalidActionRequest,
    SessionExpired,
    cancel_subscription,
    change_plan,
    create_checkout_session,
    create_customer,
    create_portal_session,
    resume_subscription,
    subscribe,
    update_customer,
)
from remit.clock import Clock, FrozenClock, SystemClock
from remit.config import Settings, load_settings
from remit.errors import (
    ConfigurationError,
    DatabaseUnavailable,
    JobError,
    PermanentFailure,
    ProcessorError,
    RemitError,
    UnknownJob,
    UpcastError,
    WebhookError,
)
from remit.handlers import EventHandler, event_handler, on_event
from remit.jobs.context import JobContext, PeriodicContext
from remit.jobs.cron import CronEntry, cron
from remit.jobs.definition import JobDefinition, JobRegistry, UniqueBy, job
from remit.jobs.engine import Engine
from remit.jobs.retry import Backoff
from remit.jobs.rows import JobRequest
from remit.jobs.signals import Cancel, Discard, Snooze
from remit.part import Part
from remit.parts import build_runtime
from remit.periodic import Cron, Every, PeriodicTask
from remit.processor.calls import processor_call
from remit.runtime import Runtime
from remit.statemachine import InvalidTransition, StateMachine
from remit.webhooks.handlers import HandlerContext

__version__ = "0.1.0"

__all__ = [
    "ActionInProgress",
    "ActionRefused",
    "ActionResult",
    "Backoff",
    "BillingActionError",
    "Cancel",
    "Clock",
    "ConfigurationError",
    "Cron",
    "CronEntry",
    "DatabaseUnavailable",
    "Discard",
    "Engine",
    "EventHandler",
    "Every",
    "FrozenClock",
    "HandlerContext",
    "IdempotencyKeyReused",
    "InvalidActionRequest",
    "InvalidTransition",
    "JobContext",
    "JobDefinition",
    "JobError",
    "JobRegistry",
    "JobRequest",
    "Part",
    "PeriodicContext",
    "PeriodicTask",
    "PermanentFailure",
    "ProcessorError",
    "RemitError",
    "Runtime",
    "SessionExpired",
    "Settings",
    "Snooze",
    "StateMachine",
    "SystemClock",
    "UniqueBy",
    "UnknownJob",
    "UpcastError",
    "WebhookError",
    "__version__",
    "build_runtime",
    "cancel_subscription",
    "change_plan",
    "create_checkout_session",
    "create_customer",
    "create_portal_session",
    "cron",
    "event_handler",
    "job",
    "load_settings",
    "on_event",
    "processor_call",
    "resume_subscription",
    "subscribe",
    "update_customer",
]
