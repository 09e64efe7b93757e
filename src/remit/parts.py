"""remit's parts, in order, and the one call that builds a full runtime from them.

:data:`PARTS` is the composition: each part's jobs, periodic tasks and cron entries go into the engine, its
state machines into :func:`state_machines`, and its handlers for processor events run in this order — the
webhooks part's mirror projection first, then the parts that react to processor events (provisioning, mail,
money, as they land, in the order they are listed here), then the host's modules, which
:func:`build_runtime` appends. Importing this module imports the parts and registers nothing.

This module sits above the parts (only ``api``, ``cli``, ``service`` and hosts import it); the runtime
below it never learns which parts exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from remit import billing, connect, control, documents, mail, money, provisioning, usage, webhooks
from remit.clock import Clock, system_clock
from remit.config import Settings
from remit.jobs.states import JOB_STATES
from remit.part import Part, load_parts
from remit.runtime import Runtime, check_schedules
from remit.statemachine import StateMachine

#: remit's own parts, in the order their event handlers run: the mirror, then the invoice documents (so a
#: receipt finds its PDF queued), then the mail, then provisioning (a paid checkout's job), then money (failed
#: payments, dunning), then Connect's ops events, then the usage part's meter error reports; the control part
#: (emergency stop, ops webhook, flags' gauges) and the billing part (its actions' retention and their keys' state
#: machine) handle none.
PARTS: tuple[Part, ...] = (
    webhooks.PART,
    documents.PART,
    mail.PART,
    provisioning.PART,
    money.PART,
    connect.PART,
    usage.PART,
    control.PART,
    billing.PART,
)

if TYPE_CHECKING:
    from remit.processor.base import Processor


def build_runtime(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    modules: Iterable[str] | None = None,
    extra: Sequence[Part] = (),
    processor: Processor | None = None,
    runs_scheduler: bool = False,
) -> Runtime:
    """A runtime of remit's parts, then the host's: the modules ``REMIT_JOB_MODULES`` names (or ``modules``)
    collected as parts (:func:`remit.part.part_from_module`), then ``extra`` parts (the sandbox host app of
    ``remit up``, a test's). Nothing connects yet; close it with ``await runtime.close()``.

    ``runs_scheduler``: refuse (:class:`~remit.errors.ConfigurationError`) a ``REMIT_SCHEDULES`` naming a task
    none of the parts has, before anything is built — the ops-event sinks below are the process's, so a
    runtime refused after composing and never closed would go on recording every later event in the process."""
    host = load_parts(settings.job_modules if modules is None else modules)
    parts = (*PARTS, *host, *extra)
    if runs_scheduler:
        check_schedules(parts, settings)
    runtime = Runtime.from_settings(settings, parts=parts, clock=clock, processor=processor)
    control.install_forwarder(runtime)  # ops events to REMIT_OPS_WEBHOOK_URL, when it is set
    control.install_recorder(runtime)  # the newest ops events in the database, for the admin overview
    return runtime


def subscribed_event_types(parts: Sequence[Part] = PARTS) -> list[str]:
    """The event types remit asks the processor for (sorted): those the mirror projects and those a part's
    handler names exactly — what ``remit webhooks register`` subscribes an endpoint to and ``remit webhooks
    check`` and ``remit golive check`` expect."""
    from remit.webhooks.event_types import HANDLED_EVENT_TYPES

    exact = {
        pattern
        for part in parts
        for handler in part.event_handlers
        for pattern in handler.patterns
        if not any(char in pattern for char in "*?[")
    }
    return sorted(set(HANDLED_EVENT_TYPES) | exact)


def state_machines(parts: Sequence[Part] = PARTS) -> list[StateMachine[Any]]:
    """Every state machine remit declares: the job engine's, then each part's."""
    return [JOB_STATES, *(machine for part in parts for machine in part.state_machines)]


__all__ = ["PARTS", "build_runtime", "state_machines", "subscribed_event_types"]
