"""remit: a billing-operations engine.

Webhooks in, a trustworthy billing mirror out, on a durable job engine that lives in the same SQL database as
the billing data. ``build_runtime(settings)`` composes remit's parts and the host's modules into a
:class:`Runtime`; its ``engine`` is the job engine's one seam.
"""

from __future__ import annotations

# Private aliases: every public name of this module is in ``__all__`` (tests/unit/test_exported_members.py).
import importlib as _importlib
import threading as _threading
import typing as _typing

if _typing.TYPE_CHECKING:
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

#: Where each public name lives. ``import remit`` imports none of them: a name's module is imported the first
#: time the name is read (PEP 562), so a process that needs one corner of remit — the ``remit`` command above
#: all, whose start-up every operator and end-to-end test pays — does not import the job engine, SQLAlchemy
#: and every part first.
_SOURCES: dict[str, str] = {
    "ActionInProgress": "remit.billing.actions",
    "ActionRefused": "remit.billing.actions",
    "ActionResult": "remit.billing.actions",
    "Backoff": "remit.jobs.retry",
    "BillingActionError": "remit.billing.actions",
    "Cancel": "remit.jobs.signals",
    "Clock": "remit.clock",
    "ConfigurationError": "remit.errors",
    "Cron": "remit.periodic",
    "CronEntry": "remit.jobs.cron",
    "DatabaseUnavailable": "remit.errors",
    "Discard": "remit.jobs.signals",
    "Engine": "remit.jobs.engine",
    "EventHandler": "remit.handlers",
    "Every": "remit.periodic",
    "FrozenClock": "remit.clock",
    "HandlerContext": "remit.webhooks.handlers",
    "IdempotencyKeyReused": "remit.billing.actions",
    "InvalidActionRequest": "remit.billing.actions",
    "InvalidTransition": "remit.statemachine",
    "JobContext": "remit.jobs.context",
    "JobDefinition": "remit.jobs.definition",
    "JobError": "remit.errors",
    "JobRegistry": "remit.jobs.definition",
    "JobRequest": "remit.jobs.rows",
    "Part": "remit.part",
    "PeriodicContext": "remit.jobs.context",
    "PeriodicTask": "remit.periodic",
    "PermanentFailure": "remit.errors",
    "ProcessorError": "remit.errors",
    "RemitError": "remit.errors",
    "Runtime": "remit.runtime",
    "SessionExpired": "remit.billing.actions",
    "Settings": "remit.config",
    "Snooze": "remit.jobs.signals",
    "StateMachine": "remit.statemachine",
    "SystemClock": "remit.clock",
    "UniqueBy": "remit.jobs.definition",
    "UnknownJob": "remit.errors",
    "UpcastError": "remit.errors",
    "WebhookError": "remit.errors",
    "build_runtime": "remit.parts",
    "cancel_subscription": "remit.billing.actions",
    "change_plan": "remit.billing.actions",
    "create_checkout_session": "remit.billing.actions",
    "create_customer": "remit.billing.actions",
    "create_portal_session": "remit.billing.actions",
    "cron": "remit.jobs.cron",
    "event_handler": "remit.handlers",
    "job": "remit.jobs.definition",
    "load_settings": "remit.config",
    "on_event": "remit.handlers",
    "processor_call": "remit.processor.calls",
    "resume_subscription": "remit.billing.actions",
    "subscribe": "remit.billing.actions",
    "update_customer": "remit.billing.actions",
}


# Hidden from type checkers: a module-level __getattr__ that mypy sees makes every unknown name of ``remit``
# ``Any``, so a host's ``from remit import on_evnt`` would type-check (tests/unit/test_public_api_typing.py); the
# imports under TYPE_CHECKING above give the real names their types.
if not _typing.TYPE_CHECKING:
    _RESOLVING = _threading.RLock()  # re-entrant: a module imported here may read another lazy name

    def __getattr__(name: str) -> _typing.Any:
        """Resolve a public name on first access and keep it as a module global, so the next read is plain."""
        source = _SOURCES.get(name)
        if source is None:
            raise AttributeError(f"module 'remit' has no attribute {name!r}")
        # One thread at a time: remit.jobs's modules import each other, and two threads importing two of them
        # at once can each hold the lock the other needs — importlib breaks that by handing one a partially
        # initialised module (an ImportError). ``import remit`` imported them all in one go before names were
        # lazy (tests/unit/test_public_api_threads.py).
        with _RESOLVING:
            value = getattr(_importlib.import_module(source), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        """Every public name, resolved or not, with whatever else the module holds (submodules once imported)."""
        return sorted(set(globals()) | set(__all__))


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
