"""Running a billing action once per idempotency key: the claim, the processor call, the stored outcome, the span.

:func:`perform` is the one path every action of :mod:`remit.billing.actions` takes (see that module for the
behaviour): claim the key in ``remit_billing_actions`` (:mod:`remit.billing.action_store`), or answer its stored
outcome; call the processor with the key, joining the caller's transaction (:meth:`Processor.joining`); store
the answer or the refusal, or give the key back after an outage; all inside a ``billing.action`` span, timed in
``remit_billing_action_duration_seconds``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from remit.billing import action_store
from remit.billing.action_store import ActionRecord, ActionStatus
from remit.errors import ProcessorError, RemitError
from remit.processor.base import Processor, StripeObject
from remit.processor.faults import Fault, classify
from remit.runtime import Runtime
from remit.telemetry import metrics, ops
from remit.telemetry.spans import Span, span

SPAN = "billing.action"
#: How long a repeat waits for the first call with its key, still at the processor, before
#: :class:`ActionInProgress`.
WAIT_S = 10.0
POLL_S = 0.05
#: A claim older than this is a caller that died mid-call: a repeat takes it over.
LEASE_S = 120.0
#: Stripe keeps an idempotency key 24 hours: past this a stale claim is not taken over (the processor may have
#: forgotten the key, and calling again could act twice); it is marked failed with :data:`OUTCOME_UNKNOWN`.
KEY_KEPT_S = 23 * 3600.0
OUTCOME_UNKNOWN = "outcome_unknown"
#: Processor error codes for "another request with this key is in flight", whatever their status.
IN_FLIGHT_CODES = frozenset({"idempotency_key_in_use", "lock_timeout"})
#: Bounds the claim loop whatever the caller's isolation level shows it (WAIT_S / POLL_S, and some).
MAX_CLAIMS = int(WAIT_S / POLL_S) + 20


class BillingActionError(RemitError):
    """A billing action refused. ``code`` is machine-readable, ``param`` the argument at fault (a name, never
    a value), ``status`` the HTTP status the internal API answers with."""

    status = 400
    code = "invalid_request"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.param = param
        if code is not None:
            self.code = code


class InvalidActionRequest(BillingActionError):
    """An argument is missing or malformed (nothing was called or written)."""

    code = "parameter_invalid"


class IdempotencyKeyReused(BillingActionError):
    """The key was used before for another action or other arguments."""

    code = "idempotency_key_reused"


class ActionInProgress(BillingActionError):
    """The first call with this key is still at the processor; retry later with the same key."""

    status = 409
    code = "idempotency_key_in_use"


class SessionExpired(BillingActionError):
    """A repeat of a checkout or portal session's key after the session expired (24 h on): its URL and client
    secret are no longer kept (they would open nothing). Create a new session with a new key."""

    status = 410
    code = "session_expired"


class ActionRefused(BillingActionError):
    """The processor refused the action (a 4xx: a missing customer, a declined card …). It is the key's stored
    outcome: a repeat raises it again without calling."""

    def __init__(self, action: str, error: Mapping[str, Any]) -> None:
        status = int(error.get("status") or 400)
        code = str(error.get("code") or "processor_refused")
        super().__init__(f"{action}: the processor refused it ({status} {code})", param=error.get("param"), code=code)
        self.status = status
        self.processor_status = status


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action answered: the processor's ``object`` (for sessions, with ``url`` and any client secret:
    the caller's to use and to keep out of logs), and ``replayed`` when this was a repeat of its key."""

    action: str
    idempotency_key: str
    object: StripeObject = field(repr=False)
    replayed: bool

    @property
    def id(self) -> str | None:
        value = self.object.get("id")
        return value if isinstance(value, str) else None

    @property
    def url(self) -> str | None:
        """A checkout or portal session's URL: send the customer there."""
        value = self.object.get("url")
        return value if isinstance(value, str) else None

    def to_json(self) -> dict[str, Any]:
        return dict(self.object)


# --- the one path every action takes ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionRequest:
    action: str
    key: str
    params: dict[str, Any]
    account_id: str | None = None
    customer_id: str | None = None


Call = Callable[[Processor], Awaitable[StripeObject]]
Record = Callable[[AsyncConnection, StripeObject], Awaitable[None]]


def _customer_of(obj: Mapping[str, Any], action: str) -> str | None:
    if action in ("create_customer", "update_customer"):
        value = obj.get("id")
    else:
        value = obj.get("customer")
        if isinstance(value, Mapping):
            value = value.get("id")
    return value if isinstance(value, str) else None


def _refusal(error: ProcessorError) -> dict[str, Any]:
    return {"status": error.status_code, "code": error.code, "param": error.param}


def _joining(processor: Processor, conn: AsyncConnection | None) -> AbstractContextManager[None]:
    return processor.joining(conn) if conn is not None else nullcontext()


def _answer(request: ActionRequest, record: ActionRecord, current: Span, now: datetime) -> ActionResult:
    """The stored outcome of ``record`` for a repeat (or a caller whose claim another finished); for a session
    that has expired by ``now``, :class:`SessionExpired`."""
    if record.action != request.action or record.fingerprint != action_store.fingerprint(
        request.action, request.params
    ):
        current.set(outcome="refused", code=IdempotencyKeyReused.code)
        raise IdempotencyKeyReused(
            f"idempotency_key was used for another request ({record.action}); use a new key for this one",
            param="idempotency_key",
        )
    current.set(customer_id=record.customer_id, object_id=record.object_id, replayed=True)
    if record.status is ActionStatus.FAILED:
        current.set(outcome="refused", code=(record.error or {}).get("code"))
        raise ActionRefused(request.action, record.error or {})
    if record.status is not ActionStatus.SUCCEEDED or record.result is None:
        raise _in_progress(current)
    if record.session_expired(now):
        current.set(outcome="refused", code=SessionExpired.code)
        raise SessionExpired(
            f"the session this idempotency_key made has expired ({request.action}); create a new one with a new "
            "idempotency_key",
            param="idempotency_key",
        )
    current.set(outcome="replayed")
    return ActionResult(request.action, request.key, dict(record.result), replayed=True)


def _in_progress(current: Span) -> ActionInProgress:
    current.set(outcome="refused", code=ActionInProgress.code)
    return ActionInProgress(
        "a call with this idempotency_key is still in progress; retry with the same key", param="idempotency_key"
    )


def _in_flight(error: ProcessorError) -> bool:
    """The processor is still working on another request with this key (Stripe's and the fake's 409
    ``idempotency_key_in_use``, Stripe's ``lock_timeout``): not the key's outcome, a retry later meets another."""
    return error.status_code == 409 or error.code in IN_FLIGHT_CODES


def _unknown_outcome() -> dict[str, Any]:
    return {"status": 409, "code": OUTCOME_UNKNOWN, "param": "idempotency_key"}


@asynccontextmanager
async def _transaction(runtime: Runtime, conn: AsyncConnection | None) -> AsyncIterator[AsyncConnection]:
    if conn is not None:
        yield conn
        return
    async with runtime.db.begin() as own:
        yield own


async def _read(runtime: Runtime, key: str) -> ActionRecord | None:
    """The key's row, read in a read-only transaction (on SQLite it takes no write lock)."""
    async with runtime.db.read() as own:
        return await action_store.get(own, key)


def _stale(record: ActionRecord, now: datetime) -> bool:
    return record.status is ActionStatus.RUNNING and record.claimed_at <= now - timedelta(seconds=LEASE_S)


async def _settle(
    runtime: Runtime, conn: AsyncConnection | None, request: ActionRequest, print_: str, current: Span
) -> ActionRecord | ActionResult | None:
    """One write attempt on the key: this call's claim (a new row, or a stale one taken over), the stored
    outcome a repeat answers, or None (another caller holds it; or the row went between insert and read)."""
    now = runtime.clock.now()
    forgotten = False
    async with _transaction(runtime, conn) as tx:
        mine = await action_store.claim(
            tx,
            request.key,
            action=request.action,
            print_=print_,
            processor=runtime.processor.name,
            account_id=request.account_id,
            customer_id=request.customer_id,
            now=now,
        )
        if mine is not None:
            return mine
        found = await action_store.get(tx, request.key)
        if found is None:  # given back between our insert and our read (or not visible yet): again
            return None
        if found.status is not ActionStatus.RUNNING or found.action != request.action or found.fingerprint != print_:
            return _answer(request, found, current, now)  # the outcome, or IdempotencyKeyReused
        if not _stale(found, now):
            return None
        if found.created_at > now - timedelta(seconds=KEY_KEPT_S):
            return await action_store.take_over(tx, found, now)  # None: another caller took it first
        # The processor has forgotten the key by now: calling again could act twice. Leave it to an operator.
        forgotten = await action_store.finish(tx, found, now=now, error=_unknown_outcome())
    if not forgotten:
        return None
    current.set(outcome="refused", code=OUTCOME_UNKNOWN)
    ops.emit(
        "billing_action_outcome_unknown",
        attempt=found.attempts,
        action=request.action,
        operation_id=request.key,
        account_id=found.account_id,
        customer_id=found.customer_id,
        processor=found.processor,
        code=OUTCOME_UNKNOWN,
    )
    raise ActionRefused(request.action, _unknown_outcome())


async def _claim(
    runtime: Runtime, conn: AsyncConnection | None, request: ActionRequest, current: Span
) -> ActionRecord | ActionResult:
    """This call's claim on the key, or the stored outcome a repeat answers.

    The first attempt writes (a new key is the common case: one INSERT). A repeat that finds the first call
    still at the processor then polls with reads, and writes again only when the row went (the key was given
    back) or its claim is stale."""
    print_ = action_store.fingerprint(request.action, request.params)
    deadline = asyncio.get_running_loop().time() + WAIT_S
    for attempt in range(MAX_CLAIMS):
        if attempt:
            # The first call is at the processor. Inside the caller's transaction we must not wait: on SQLite
            # it holds the write lock the first call needs to record its outcome.
            if conn is not None or asyncio.get_running_loop().time() >= deadline:
                break
            await asyncio.sleep(POLL_S)
            seen = await _read(runtime, request.key)
            if seen is not None and seen.status is ActionStatus.RUNNING and not _stale(seen, runtime.clock.now()):
                continue
            if seen is not None and seen.status is not ActionStatus.RUNNING:
                return _answer(request, seen, current, runtime.clock.now())
        settled = await _settle(runtime, conn, request, print_, current)
        if settled is not None:
            return settled
    raise _in_progress(current)


async def _lost(
    tx: AsyncConnection,
    request: ActionRequest,
    current: Span,
    now: datetime,
    obj: StripeObject | None = None,
    refusal: dict[str, Any] | None = None,
) -> ActionResult:
    """The answer of a caller whose claim another caller took over (its processor call outlived the lease):
    the outcome the key now holds, else what the processor answered this caller for the key (``obj``, or its
    ``refusal``; the claim's new holder records its own answer to the same key)."""
    again = await action_store.get(tx, request.key)
    if again is not None and again.status is not ActionStatus.RUNNING:
        return _answer(request, again, current, now)
    if refusal is not None:
        current.set(outcome="refused")
        raise ActionRefused(request.action, refusal)
    if obj is None:
        raise _in_progress(current)
    current.set(outcome="created", replayed=False)
    return ActionResult(request.action, request.key, obj, replayed=False)


async def perform(
    runtime: Runtime, conn: AsyncConnection | None, request: ActionRequest, call: Call, record: Record | None = None
) -> ActionResult:
    processor = runtime.processor
    started = asyncio.get_running_loop().time()
    outcome = "failed"
    try:
        async with span(
            SPAN,
            action=request.action,
            operation_id=request.key,
            processor=processor.name,
            account_id=request.account_id,
            customer_id=request.customer_id,
        ) as current:
            claimed = await _claim(runtime, conn, request, current)
            if isinstance(claimed, ActionResult):
                outcome = "replayed"
                return claimed
            try:
                with _joining(processor, conn):
                    obj = await call(processor)
            except asyncio.CancelledError:
                raise  # the claim stays; its lease lets a repeat take it over
            except ProcessorError as error:
                current.set(code=error.code, status=error.status_code)
                in_flight = _in_flight(error)
                refused = not in_flight and classify(error) is Fault.REFUSED
                stored = _refusal(error)
                async with _transaction(runtime, conn) as tx:
                    if refused:
                        if not await action_store.finish(tx, claimed, now=runtime.clock.now(), error=stored):
                            return await _lost(tx, request, current, runtime.clock.now(), refusal=stored)
                    else:
                        await action_store.release(tx, claimed)
                if in_flight:
                    raise _in_progress(current) from None
                if refused:
                    current.set(outcome="refused")
                    raise ActionRefused(request.action, stored) from None
                raise
            except Exception:
                async with _transaction(runtime, conn) as tx:
                    await action_store.release(tx, claimed)
                raise
            customer = _customer_of(obj, request.action) or request.customer_id
            object_id = obj.get("id") if isinstance(obj.get("id"), str) else None
            current.set(customer_id=customer, object_id=object_id)
            async with _transaction(runtime, conn) as tx:
                finished = await action_store.finish(
                    tx, claimed, now=runtime.clock.now(), result=obj, customer_id=customer, object_id=object_id
                )
                if not finished:  # another caller took the claim over
                    lost = await _lost(tx, request, current, runtime.clock.now(), obj)
                    outcome = "replayed" if lost.replayed else "created"
                    return lost
                if record is not None:
                    await record(tx, obj)
            outcome = "created"
            current.set(outcome=outcome, replayed=False)
            return ActionResult(request.action, request.key, obj, replayed=False)
    except BillingActionError:
        outcome = "refused"
        raise
    finally:
        elapsed = asyncio.get_running_loop().time() - started
        metrics.billing_action_duration_seconds.labels(
            action=request.action, processor=processor.name, outcome=outcome
        ).observe(elapsed)


__all__ = [
    "KEY_KEPT_S",
    "LEASE_S",
    "OUTCOME_UNKNOWN",
    "SPAN",
    "WAIT_S",
    "ActionInProgress",
    "ActionRefused",
    "ActionRequest",
    "ActionResult",
    "BillingActionError",
    "Call",
    "IdempotencyKeyReused",
    "InvalidActionRequest",
    "Record",
    "SessionExpired",
    "perform",
]
