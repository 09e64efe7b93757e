"""Dunning: the cases, the webhook handler that opens and closes them, and the sweeper that ends the grace.

- :func:`on_subscription` (``customer.subscription.updated``/``deleted``) opens a case when a subscription is
  past due, recovers it when it is paid, and — the only place a case becomes ``exhausted`` — records the
  processor's confirmation of a terminal state and emits ``dunning_exhaustion`` once (a guarded UPDATE moves
  the row once; its source says whether remit's sweeper had asked for it).
- :data:`SWEEP_TASK` (every 15 minutes, leader only, on ``remit_dunning``) opens cases for past-due
  subscriptions the mirror holds without one and queues :data:`terminate` for each case whose grace is over.
- :data:`terminate` asks the processor, through :func:`~remit.processor.calls.processor_call`, with an
  idempotency key per subscription and attempt. It never writes the mirror: the confirming webhook does. A
  failed request counts the attempt and leaves the case in grace, so the next sweep asks again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db import statements
from remit.db.tables import dunning_cases, subscriptions
from remit.errors import ProcessorError
from remit.handlers import event_handler
from remit.jobs.context import JobContext, PeriodicContext
from remit.jobs.definition import UniqueBy, job
from remit.jobs.rows import JobRequest
from remit.money.failures import ident
from remit.money.policy import (
    DUNNING_STATES,
    GOOD_STATUSES,
    PAST_DUE,
    TERMINAL_STATUSES,
    CaseState,
    DunningPolicy,
    Terminal,
    exhaustion_source,
    idempotency_key,
)
from remit.periodic import Counts, Cron, PeriodicTask
from remit.processor.base import Processor
from remit.processor.calls import processor_call
from remit.runtime import Runtime
from remit.telemetry import metrics, ops
from remit.webhooks.handlers import HandlerContext

log = logging.getLogger("remit.money.dunning")

SWEEP_TASK_NAME = "money.dunning_sweep"
TERMINATE_JOB = "remit.money.dunning.terminate"
SUBSCRIPTION_EVENTS = ("customer.subscription.updated", "customer.subscription.deleted")
#: The most cases one sweep queues (the rest wait for the next sweep, fifteen minutes on).
SWEEP_BATCH = 500


@dataclass(frozen=True, slots=True)
class DunningCase:
    subscription_id: str
    customer_id: str | None
    state: CaseState
    past_due_since: datetime
    grace_until: datetime
    action: str | None
    attempts: int
    last_attempt_at: datetime | None
    last_error: str | None
    confirmed_status: str | None
    source: str | None
    exhausted_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> DunningCase:
        return cls(
            subscription_id=row["subscription_id"],
            customer_id=row["customer_id"],
            state=CaseState(row["state"]),
            past_due_since=row["past_due_since"],
            grace_until=row["grace_until"],
            action=row["action"],
            attempts=int(row["attempts"]),
            last_attempt_at=row["last_attempt_at"],
            last_error=row["last_error"],
            confirmed_status=row["confirmed_status"],
            source=row["source"],
            exhausted_at=row["exhausted_at"],
        )

    def to_json(self) -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "subscription_id": self.subscription_id,
            "customer_id": self.customer_id,
            "state": self.state.value,
            "past_due_since": when(self.past_due_since),
            "grace_until": when(self.grace_until),
            "action": self.action,
            "attempts": self.attempts,
            "last_attempt_at": when(self.last_attempt_at),
            "last_error": self.last_error,
            "confirmed_status": self.confirmed_status,
            "source": self.source,
            "exhausted_at": when(self.exhausted_at),
        }


_OPEN = statements.upsert(
    dunning_cases,
    columns=[column.name for column in dunning_cases.c],
    conflict=("subscription_id",),
    returning=("subscription_id",),
)


async def open_case(
    conn: AsyncConnection,
    policy: DunningPolicy,
    subscription_id: str,
    customer_id: str | None,
    since: datetime,
    now: datetime,
) -> bool:
    """Open a case in grace from ``since`` (or reopen a recovered one); False when one is already open."""
    values: dict[str, Any] = {
        "subscription_id": subscription_id,
        "customer_id": customer_id,
        "state": CaseState.IN_GRACE.value,
        "past_due_since": since,
        "grace_until": policy.grace_until(since),
        "action": None,
        "attempts": 0,
        "last_attempt_at": None,
        "last_error": None,
        "confirmed_status": None,
        "source": None,
        "exhausted_at": None,
        "updated_at": now,
    }
    if (await conn.execute(_OPEN, values)).scalar_one_or_none() is not None:
        return True
    update = DUNNING_STATES.update(
        dunning_cases, CaseState.IN_GRACE, dunning_cases.c.subscription_id == subscription_id
    )
    reopened = await conn.execute(
        update.values({key: value for key, value in values.items() if key not in {"subscription_id", "state"}})
    )
    return reopened.rowcount > 0


async def get_case(conn: AsyncConnection, subscription_id: str) -> DunningCase | None:
    row = (
        (await conn.execute(sa.select(dunning_cases).where(dunning_cases.c.subscription_id == subscription_id)))
        .mappings()
        .first()
    )
    return None if row is None else DunningCase.from_row(row)


async def list_cases(conn: AsyncConnection, states: tuple[CaseState, ...]) -> list[DunningCase]:
    query = (
        sa.select(dunning_cases)
        .where(dunning_cases.c.state.in_([state.value for state in states]))
        .order_by(dunning_cases.c.grace_until, dunning_cases.c.subscription_id)
    )
    return [DunningCase.from_row(row) for row in (await conn.execute(query)).mappings()]


def _event_time(payload: Mapping[str, Any], fallback: datetime) -> datetime:
    created = payload.get("created")
    if isinstance(created, int) and not isinstance(created, bool):
        return datetime.fromtimestamp(created, UTC)
    return fallback


async def confirm_terminal(
    conn: AsyncConnection,
    subscription_id: str,
    customer_id: str | None,
    status: str,
    now: datetime,
    *,
    was_past_due: bool,
    policy: DunningPolicy,
) -> tuple[str, int] | None:
    """Record that the processor shows ``subscription_id`` terminal; ``(source, attempts)`` when this call moved
    the case to ``exhausted`` (emit then), None when it was exhausted already or was never in dunning."""
    for state in (CaseState.REQUESTED, CaseState.IN_GRACE):
        moved = await DUNNING_STATES.move(
            conn,
            dunning_cases,
            CaseState.EXHAUSTED,
            dunning_cases.c.subscription_id == subscription_id,
            only_from=[state],
            confirmed_status=status,
            source=exhaustion_source(state),
            exhausted_at=now,
            updated_at=now,
        )
        if moved:
            case = await get_case(conn, subscription_id)
            return exhaustion_source(state), case.attempts if case else 0
    if was_past_due and await get_case(conn, subscription_id) is None:
        # The processor's own retries ended a subscription remit had not seen past due.
        await open_case(conn, policy, subscription_id, customer_id, now, now)
        await confirm_terminal(conn, subscription_id, customer_id, status, now, was_past_due=False, policy=policy)
        return exhaustion_source(CaseState.IN_GRACE), 0
    return None


async def on_subscription(ctx: HandlerContext) -> None:
    """Open, recover or exhaust the subscription's case from what the processor's event shows."""
    await follow_subscription(
        ctx.runtime, ctx.conn, ctx.payload, event_id=ctx.event.id, processor_event_id=ctx.event.event_id
    )


async def follow_subscription(
    runtime: Runtime,
    conn: AsyncConnection,
    payload: Mapping[str, Any],
    *,
    event_id: int | None,
    processor_event_id: str | None,
) -> None:
    """The dunning handler's work for one subscription event ``payload`` in the caller's transaction: the
    webhook's handler runs it, and so does payment sync for a re-fetched subscription (a synthetic event,
    ``event_id`` None), so a case in ``requested`` whose confirming webhook never arrived is exhausted
    all the same."""
    data = payload.get("data")
    found = data.get("object") if isinstance(data, Mapping) else None
    obj: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    subscription_id, status = ident(obj.get("id")), obj.get("status")
    if subscription_id is None or not isinstance(status, str):
        return
    now = runtime.clock.now()
    policy = DunningPolicy.from_settings(runtime.settings)
    customer_id = ident(obj.get("customer"))
    if status == PAST_DUE:
        await open_case(conn, policy, subscription_id, customer_id, _event_time(payload, now), now)
    elif status in GOOD_STATUSES:
        await DUNNING_STATES.move(
            conn, dunning_cases, CaseState.RECOVERED, dunning_cases.c.subscription_id == subscription_id, updated_at=now
        )
    elif status in TERMINAL_STATUSES:
        previous = data.get("previous_attributes") if isinstance(data, Mapping) else None
        was_past_due = isinstance(previous, Mapping) and previous.get("status") == PAST_DUE
        confirmed = await confirm_terminal(
            conn, subscription_id, customer_id, status, now, was_past_due=was_past_due, policy=policy
        )
        if confirmed is not None:
            source, attempts = confirmed
            ops.emit(
                "dunning_exhaustion",
                event_id=event_id,
                processor_event_id=processor_event_id,
                subscription_id=subscription_id,
                customer_id=customer_id,
                status=status,
                source=source,
                attempt=attempts,
            )


SUBSCRIPTION_HANDLER = event_handler(SUBSCRIPTION_EVENTS, on_subscription, name="remit.money.dunning")


# the sweep ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PlannedRequest:
    """What a sweep will ask for one case."""

    subscription_id: str
    customer_id: str | None
    grace_until: datetime
    attempt: int
    action: Terminal

    def to_json(self) -> dict[str, Any]:
        return {
            "subscription_id": self.subscription_id,
            "customer_id": self.customer_id,
            "grace_until": self.grace_until.isoformat(),
            "attempt": self.attempt,
            "action": self.action.value,
            "idempotency_key": idempotency_key(self.subscription_id, self.attempt),
        }


async def unopened_past_due(conn: AsyncConnection, limit: int = SWEEP_BATCH) -> list[tuple[str, str | None]]:
    """Past-due subscriptions in the mirror without a case (their webhook predates remit, or was lost)."""
    query = (
        sa.select(subscriptions.c.stripe_id, subscriptions.c.customer_id)
        .select_from(
            subscriptions.outerjoin(dunning_cases, dunning_cases.c.subscription_id == subscriptions.c.stripe_id)
        )
        .where(subscriptions.c.status == PAST_DUE, sa.not_(subscriptions.c.deleted))
        .where(dunning_cases.c.subscription_id.is_(None))
        .order_by(subscriptions.c.stripe_id)
        .limit(limit)
    )
    return [(row.stripe_id, row.customer_id) for row in await conn.execute(query)]


async def plan_sweep(conn: AsyncConnection, policy: DunningPolicy, now: datetime) -> list[PlannedRequest]:
    """The requests a sweep at ``now`` makes: every case in grace whose grace is over, oldest first."""
    query = (
        sa.select(dunning_cases)
        .where(dunning_cases.c.state == CaseState.IN_GRACE.value, dunning_cases.c.grace_until <= now)
        .order_by(dunning_cases.c.grace_until, dunning_cases.c.subscription_id)
        .limit(SWEEP_BATCH)
    )
    cases = [DunningCase.from_row(row) for row in (await conn.execute(query)).mappings()]
    return [
        PlannedRequest(case.subscription_id, case.customer_id, case.grace_until, case.attempts + 1, policy.terminal)
        for case in cases
        if policy.is_due(case.state, case.grace_until, now)
    ]


async def sweep(ctx: PeriodicContext[Runtime]) -> Counts:
    """Open missing cases, then queue one :data:`terminate` job per case whose grace is over."""
    runtime = ctx.app
    policy = DunningPolicy.from_settings(runtime.settings)
    now = ctx.clock.now()
    async with ctx.db.begin() as conn:
        opened = 0
        for subscription_id, customer_id in await unopened_past_due(conn):
            opened += await open_case(conn, policy, subscription_id, customer_id, now, now)
        planned = await plan_sweep(conn, policy, now)
        requests = [
            JobRequest(terminate, {"subscription_id": p.subscription_id, "attempt": p.attempt}) for p in planned
        ]
        queued = await ctx.engine.enqueue_many(conn, requests)
    return {"opened": opened, "due": len(planned), "queued": len(queued)}


async def _ask(processor: Processor, action: Terminal, subscription_id: str, key: str) -> str:
    """Ask for ``action``; what happened (``requested`` or ``skipped``)."""
    current = await processor.retrieve_subscription(subscription_id)
    status = current.get("status")
    if status in TERMINAL_STATUSES or status != PAST_DUE:
        return "skipped"  # terminal already (its webhook confirms it) or paid meanwhile (its webhook recovers it)
    if action is Terminal.CANCELED:
        await processor.cancel_subscription(subscription_id, idempotency_key=key)
        return "requested"
    invoice_id = ident(current.get("latest_invoice"))
    if invoice_id is None:
        raise ProcessorError(f"subscription {subscription_id} has no latest invoice to write off")
    invoice = await processor.retrieve_invoice(invoice_id)
    if invoice.get("status") == "open":
        await processor.mark_invoice_uncollectible(invoice_id, idempotency_key=key)
    return "requested"


def _error_text(error: ProcessorError) -> str:
    parts = [str(error.status_code) if error.status_code is not None else "no answer", error.code or ""]
    return " ".join(part for part in parts if part)[:200]


@job(queue="remit_dunning", name=TERMINATE_JOB, max_attempts=1, unique=UniqueBy("subscription_id", "attempt"))
async def terminate(ctx: JobContext[Runtime], subscription_id: str, attempt: int) -> str:
    """Ask the processor to end one case's subscription (attempt ``attempt``); record the request or the failure
    on the case, never on the mirror."""
    runtime = ctx.app
    policy = DunningPolicy.from_settings(runtime.settings)
    async with ctx.db.connect() as conn:
        case = await get_case(conn, subscription_id)
    if case is None or case.state is not CaseState.IN_GRACE or case.attempts >= attempt:
        return "stale"
    key = idempotency_key(subscription_id, attempt)
    now = ctx.clock.now()
    try:
        async with processor_call(ctx, "dunning"):
            outcome = await _ask(runtime.processor, policy.terminal, subscription_id, key)
    except ProcessorError as error:
        metrics.dunning_requests_total.labels(outcome="failed").inc()
        log.warning(
            "dunning request failed",
            extra={"subscription_id": subscription_id, "attempt": attempt, "status_code": error.status_code},
        )
        async with ctx.db.begin() as conn:
            await conn.execute(
                sa.update(dunning_cases)
                .where(dunning_cases.c.subscription_id == subscription_id, dunning_cases.c.attempts < attempt)
                .values(attempts=attempt, last_attempt_at=now, last_error=_error_text(error), updated_at=now)
            )
        return "failed"
    metrics.dunning_requests_total.labels(outcome=outcome).inc()
    async with ctx.db.begin() as conn:
        if outcome == "requested":
            await DUNNING_STATES.move(
                conn,
                dunning_cases,
                CaseState.REQUESTED,
                dunning_cases.c.subscription_id == subscription_id,
                action=policy.terminal.value,
                attempts=attempt,
                last_attempt_at=now,
                last_error=None,
                updated_at=now,
            )
        else:
            await conn.execute(
                sa.update(dunning_cases)
                .where(dunning_cases.c.subscription_id == subscription_id)
                .values(attempts=attempt, last_attempt_at=now, updated_at=now)
            )
    return outcome


#: Every 15 minutes, leader only, as a job on ``remit_dunning``.
SWEEP_TASK: PeriodicTask[PeriodicContext[Runtime]] = PeriodicTask(
    SWEEP_TASK_NAME, Cron("*/15 * * * *"), sweep, queue="remit_dunning"
)


async def dunning_gauges(runtime: Runtime) -> None:
    """``remit_dunning_cases{state}`` from the database."""
    async with runtime.db.read() as conn:
        rows = await conn.execute(sa.select(dunning_cases.c.state, sa.func.count()).group_by(dunning_cases.c.state))
        counts = {row[0]: int(row[1]) for row in rows}
    for state in CaseState:
        metrics.dunning_cases.labels(state=state.value).set(counts.get(state.value, 0))


__all__ = [
    "SUBSCRIPTION_HANDLER",
    "SWEEP_TASK",
    "SWEEP_TASK_NAME",
    "TERMINATE_JOB",
    "DunningCase",
    "PlannedRequest",
    "confirm_terminal",
    "dunning_gauges",
    "follow_subscription",
    "get_case",
    "list_cases",
    "on_subscription",
    "open_case",
    "plan_sweep",
    "sweep",
    "terminate",
]
