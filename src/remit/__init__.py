"""remit: a billing-operations engine.

Webhooks in, a trustworthy billing mirror out, on a durable job engine that lives in the same SQL database as
the billing data.
"""

from __future__ import annotations

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
from remit.jobs.context import JobContext
from remit.jobs.definition import Cancel, Discard, JobDefinition, JobRegistry, Snooze, UniqueBy, job
from remit.jobs.enqueue import JobRequest, enqueue, enqueue_many, enqueue_sync
from remit.jobs.retry import Backoff
from remit.runtime import Runtime
from remit.webhooks.handlers import HandlerContext, on_event, register_handler

__version__ = "0.1.0"

__all__ = [
    "Backoff",
    "Cancel",
    "Clock",
    "ConfigurationError",
    "DatabaseUnavailable",
    "Discard",
    "FrozenClock",
    "HandlerContext",
    "JobContext",
    "JobDefinition",
    "JobError",
    "JobRegistry",
    "JobRequest",
    "PermanentFailure",
    "ProcessorError",
    "RemitError",
    "Runtime",
    "Settings",
    "Snooze",
    "SystemClock",
    "UniqueBy",
    "UnknownJob",
    "UpcastError",
    "WebhookError",
    "__version__",
    "enqueue",
    "enqueue_many",
    "enqueue_sync",
    "job",
    "load_settings",
    "on_event",
    "register_handler",
]
