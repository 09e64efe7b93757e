"""The dispatch job: run the runtime's handlers — the mirror first, then remit's parts', then the host's — for
one stored event.

One job per event row (unique on the row id while pending), on queue ``remit_webhooks``. An attempt:

1. moves the event ``received``/``failed`` → ``processing`` and counts the attempt (or, with billing
   switched off or an emergency stop in force — ``runtime.flags`` —, parks it as ``held`` and ends:
   :func:`remit.webhooks.held.release_held` brings it back);
2. runs every handler for the type that has not yet succeeded for this event, in the runtime's order
   (:attr:`remit.runtime.Runtime.handlers`, composed by :mod:`remit.parts`): the mirror projection
   (:data:`MIRROR_HANDLER`, :func:`remit.billing.projection.apply_event`, declared by this part) first, then
   remit's other parts', then the host's — each in its own transaction, in which its success is recorded on
   the row together with its database work. A failing handler is rolled back alone: the others still run
   and keep their result;
3. marks the event ``processed`` in the last handler's transaction, or ``failed`` with the errors, and raises
   :class:`HandlersFailed` so the engine retries with backoff. After the last attempt the engine discards the
   job and :func:`mark_dead` — its discard hook, in the discarding transaction — marks the event ``dead`` and
   emits ``webhook_dlq.dead_lettered``. When every handler that failed this attempt raised
   :class:`~remit.errors.PermanentFailure` (and none snoozed), no retry can help: the attempt raises the
   engine's :class:`~remit.jobs.signals.Discard` instead, so the same hook dead-letters the event now
   rather than after days of retries. One transient failure beside them keeps the event retrying.

Handlers that already succeeded are never run again for that event, neither on a retry nor on a replay.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from remit.clock import parse_instant
from remit.db.engine import is_unavailable_error
from remit.errors import PermanentFailure, RemitError
from remit.handlers import EventHandler, HandlerRegistry
from remit.jobs.context import JobContext
from remit.jobs.definition import UniqueBy, job
from remit.jobs.records import Job, error_message
from remit.jobs.retry import Backoff
from remit.jobs.rows import JobRequest
from remit.jobs.signals import Discard, Snooze
from remit.runtime import Runtime
from remit.telemetry import ops
from remit.webhooks import store
from remit.webhooks.envelope import loads
from remit.webhooks.events import EventStatus, WebhookEvent
from remit.webhooks.handlers import HandlerContext

log = logging.getLogger("remit.webhooks")

DISPATCH_JOB = "remit.webhooks.dispatch"
#: The name the mirror projection (the first handler of every event) is recorded under in ``handler_results``.
DEFAULT_HANDLER = "remit.mirror"
#: 5 s, 10 s, 20 s … capped at 6 h, ±20 %: 25 attempts span about three days, as Stripe's own retries do.
DISPATCH_BACKOFF = Backoff(base=5.0, factor=2.0, cap=6 * 3600.0, jitter=0.2)


class HandlersFailed(RemitError):
    """One or more handlers of an event failed this attempt; the message names them (identifiers only)."""

    def __init__(self, event_row_id: int, failures: Mapping[str, BaseException]) -> None:
        self.failures = dict(failures)
        super().__init__(f"webhook event {event_row_id}: {len(failures)} handler(s) failed: {failure_names(failures)}")


def failure_names(failures: Mapping[str, BaseException]) -> str:
    """``name (ExceptionType), …`` for the handlers that failed: identifiers only, never messages (pure)."""
    return ", ".join(f"{name} ({type(exc).__name__})" for name, exc in failures.items())


def all_permanent(failures: Mapping[str, BaseException]) -> bool:
    """Whether retrying cannot help: some handler failed, and every one that did failed permanently (pure)."""
    return bool(failures) and all(isinstance(exc, PermanentFailure) for exc in failures.values())


class ByEventRow(UniqueBy):
    """At most one pending dispatch per event row, under the readable key ``remit.webhooks.dispatch:<row
    id>`` — simple enough that the ingest statement computes it in SQL from the id it just inserted."""

    def __init__(self) -> None:
        super().__init__("webhook_event_id")

    def key(self, name: str, args: Mapping[str, Any]) -> str:
        return dispatch_key_prefix(name) + str(int(args["webhook_event_id"]))


def dispatch_key_prefix(name: str = DISPATCH_JOB) -> str:
    return f"{name}:"


@dataclass(frozen=True, slots=True)
class Step:
    """One handler to run for an event."""

    name: str
    run: Callable[[HandlerContext], Awaitable[Any]]


async def project_into_mirror(ctx: HandlerContext) -> Any:
    """The mirror projection (:func:`remit.billing.projection.apply_event`): what it did to the mirror."""
    from remit.billing.projection import apply_event

    return await apply_event(ctx.conn, ctx.runtime, ctx.payload)


#: The first handler of every event: project it into the billing mirror (declared by this part's ``PART``).
MIRROR_HANDLER = EventHandler(DEFAULT_HANDLER, ("*",), project_into_mirror)


def steps_for(event_type: str, handlers: HandlerRegistry, done: Mapping[str, Any]) -> list[Step]:
    """The handlers still to run for an event of ``event_type``: those of ``handlers`` that match, in order,
    minus those ``done`` records as succeeded (pure)."""
    every = [Step(handler.name, handler.func) for handler in handlers.for_type(event_type)]
    return [step for step in every if not _succeeded(done.get(step.name))]


def _succeeded(result: Any) -> bool:
    return isinstance(result, Mapping) and result.get("ok") is True


def describe_failure(exc: BaseException, at: datetime) -> dict[str, Any]:
    """What is kept of a handler failure: its type and :func:`~remit.jobs.records.error_message` (a database
    error's classes and SQLSTATE only, never the statement or its parameters), never a traceback."""
    return {"ok": False, "at": at.isoformat(), "type": type(exc).__name__, "message": error_message(exc)}


def last_error_of(failures: Mapping[str, dict[str, Any]], attempt: int, at: datetime) -> dict[str, Any]:
    """The ``last_error`` column for an attempt whose ``failures`` are given by handler name (pure)."""
    first_name, first = next(iter(failures.items()))
    return {
        "at": at.isoformat(),
        "attempt": attempt,
        "type": first["type"],
        "message": first["message"],
        "handler": first_name,
        "handlers": {name: {"type": f["type"], "message": f["message"]} for name, f in failures.items()},
    }


class Dispatcher:
    """Runs one attempt of one event's handlers (see the module docs)."""

    def __init__(self, runtime: Runtime, handlers: HandlerRegistry | None = None) -> None:
        self.runtime = runtime
        self.handlers = handlers if handlers is not None else runtime.handlers

    async def run(self, event_row_id: int) -> EventStatus | None:
        """Dispatch the event; the status it ends in, or None when there was nothing to do."""
        rt = self.runtime
        dispatching = (await rt.flags.switches()).dispatching
        async with rt.db.begin() as conn:
            if not dispatching:
                held = await store.move(conn, event_row_id, EventStatus.HELD)
                return EventStatus.HELD if held else None
            event = await store.start_attempt(conn, event_row_id)
        if event is None:
            return None  # processed, held, dead or pruned meanwhile: nothing to do
        payload = loads(event.body or "")
        results = dict(event.handler_results)
        steps = steps_for(event.type, self.handlers, results)
        failures: dict[str, dict[str, Any]] = {}
        exceptions: dict[str, BaseException] = {}
        snoozed: Snooze | None = None
        if not steps:
            await self._finish(event_row_id, results)
            return EventStatus.PROCESSED
        for index, step in enumerate(steps):
            is_last = index == len(steps) - 1
            try:
                finish = is_last and not failures and snoozed is None
                await self._run_step(event, payload, step, results, finish=finish)
            except Snooze as signal:
                snoozed = signal
            except Exception as exc:
                if is_unavailable_error(exc):
                    raise  # the database is gone: nothing can be recorded; the engine retries the job
                failures[step.name] = describe_failure(exc, rt.clock.now())
                exceptions[step.name] = exc
                results[step.name] = failures[step.name]
                log.warning(
                    "webhook handler failed",
                    extra={
                        "event_id": event.id,
                        "event_type": event.type,
                        "handler": step.name,
                        "error_type": type(exc).__name__,
                        "permanent": isinstance(exc, PermanentFailure),
                    },
                )
        if failures:
            async with rt.db.begin() as conn:
                recorded = await store.move(
                    conn,
                    event_row_id,
                    EventStatus.FAILED,
                    only_from=[EventStatus.PROCESSING],
                    handler_results=results,
                    last_error=last_error_of(failures, event.attempts, rt.clock.now()),
                )
            # Give up only on an event this attempt still owns: one an operator moved meanwhile is theirs.
            if recorded is not None and snoozed is None and all_permanent(exceptions):
                raise Discard(
                    f"webhook event {event_row_id}: {len(exceptions)} handler(s) failed permanently: "
                    f"{failure_names(exceptions)}"
                )
            raise HandlersFailed(event_row_id, exceptions)
        if snoozed is not None:
            async with rt.db.begin() as conn:
                await store.move(
                    conn,
                    event_row_id,
                    EventStatus.RECEIVED,
                    only_from=[EventStatus.PROCESSING],
                    handler_results=results,
                )
            raise snoozed
        return EventStatus.PROCESSED

    async def _run_step(
        self, event: WebhookEvent, payload: Any, step: Step, results: dict[str, Any], *, finish: bool
    ) -> None:
        rt = self.runtime
        async with rt.db.begin() as conn:
            outcome = await step.run(HandlerContext(rt, conn, event, payload))
            now = rt.clock.now()
            result: dict[str, Any] = {"ok": True, "at": now.isoformat()}
            if hasattr(outcome, "to_json"):  # the mirror projection says what it did to the mirror
                result["result"] = outcome.to_json()
            updated = {**results, step.name: result}
            if not await store.record_results(conn, event.id, updated, processed_at=now if finish else None):
                raise _Superseded(event.id)
        results.update(updated)

    async def _finish(self, event_row_id: int, results: dict[str, Any]) -> None:
        async with self.runtime.db.begin() as conn:
            await store.record_results(conn, event_row_id, results, processed_at=self.runtime.clock.now())


class _Superseded(RemitError):
    """The event left ``processing`` while a handler ran (an operator or a rescued twin moved it)."""

    def __init__(self, event_row_id: int) -> None:
        super().__init__(f"webhook event {event_row_id} is no longer processing")


async def mark_dead(conn: AsyncConnection, job: Job, error: dict[str, Any]) -> None:
    """Discard hook of the dispatch job: the event is dead; emit ``webhook_dlq.dead_lettered``.

    The job is discarded after its last attempt, or at once when its handlers failed permanently (the
    attempt raised :class:`~remit.jobs.signals.Discard`); either way the event ends here.

    Runs inside the transaction that discards the job, so the job and the event cannot disagree. An event
    that failed keeps its handler-level ``last_error``; one whose attempt was cut short (timeout, crash) gets
    the job's error instead.
    """
    event_row_id = job.args.get("webhook_event_id")
    if not isinstance(event_row_id, int):
        return
    event = await store.get(conn, event_row_id)
    if event is None:
        return
    at = _error_time(error)
    values: dict[str, Any] = {"dead_at": at}
    if event.status is not EventStatus.FAILED:
        values["last_error"] = {
            "at": at.isoformat(),
            "attempt": job.attempt,
            "type": error.get("type"),
            "message": error.get("message"),
            "handler": None,
            "handlers": {},
        }
    dead = await store.move(conn, event_row_id, EventStatus.DEAD, **values)
    if dead is None:
        return
    ops.emit(
        "webhook_dlq.dead_lettered",
        event_id=dead.id,
        processor_event_id=dead.event_id,
        event_type=dead.type,
        processor=dead.processor,
        attempt=job.attempt,
        error_type=(dead.last_error or {}).get("type"),
        job_id=job.id,
    )


def _error_time(error: Mapping[str, Any]) -> datetime:
    """When the last attempt failed, from the job error (written on the worker's clock)."""
    at = error.get("at")
    if isinstance(at, str):
        try:
            return parse_instant(at)
        except ValueError:
            pass
    return datetime.now(UTC)


@job(
    queue="remit_webhooks",
    name=DISPATCH_JOB,
    max_attempts=25,
    backoff=DISPATCH_BACKOFF,
    unique=ByEventRow(),
    on_discard=[mark_dead],
)
async def dispatch_event(ctx: JobContext[Runtime], webhook_event_id: int) -> None:
    """Dispatch stored webhook event ``webhook_event_id`` (the row id, not the processor's event id)."""
    await Dispatcher(ctx.app).run(webhook_event_id)


async def enqueue_dispatch(conn: AsyncConnection, runtime: Runtime, event_row_id: int) -> int | None:
    """Queue the dispatch of one event in the caller's transaction; None when one is already pending."""
    return await runtime.engine.enqueue(
        conn,
        dispatch_event,
        {"webhook_event_id": event_row_id},
        max_attempts=runtime.settings.webhook_max_attempts,
    )


async def enqueue_dispatches(
    conn: AsyncConnection, runtime: Runtime, event_row_ids: Sequence[int], *, stagger: float = 0.0, start_index: int = 0
) -> list[int]:
    """Queue the dispatch of many events in one statement; the ``n``-th runs ``n * stagger`` seconds later
    (``n`` counted from ``start_index``), so a bulk replay does not hit the handlers all at once."""
    requests = [
        JobRequest(
            dispatch_event,
            {"webhook_event_id": row_id},
            max_attempts=runtime.settings.webhook_max_attempts,
            delay=(start_index + n) * stagger if stagger > 0 else None,
        )
        for n, row_id in enumerate(event_row_ids)
    ]
    return await runtime.engine.enqueue_many(conn, requests)


__all__ = [
    "DEFAULT_HANDLER",
    "DISPATCH_BACKOFF",
    "DISPATCH_JOB",
    "MIRROR_HANDLER",
    "ByEventRow",
    "Dispatcher",
    "HandlersFailed",
    "Step",
    "all_permanent",
    "dispatch_event",
    "dispatch_key_prefix",
    "enqueue_dispatch",
    "enqueue_dispatches",
    "failure_names",
    "last_error_of",
    "mark_dead",
    "project_into_mirror",
    "steps_for",
]
