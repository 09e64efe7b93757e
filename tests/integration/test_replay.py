"""Replaying dead events: once after a fix, in bulk with filters, a cap and a stagger; dry runs change nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from remit.clock import FrozenClock
from remit.db.tables import audit_log, jobs, webhook_events
from remit.errors import PermanentFailure, WebhookError
from remit.runtime import Runtime
from remit.webhooks.dead_letters import EventFilter
from remit.webhooks.events import EventStatus
from remit.webhooks.handlers import HandlerContext
from remit.webhooks.replay import replay_event, replay_matching
from tests.support.webhooks import client_for, count, dispatch_runtime, event, post_event, webhook_settings

pytestmark = [pytest.mark.webhook_settings(REMIT_WEBHOOK_MAX_ATTEMPTS="1"), pytest.mark.webhooks_part_only]


class Switch:
    """A host handler that fails until fixed, counting its runs."""

    def __init__(self) -> None:
        self.broken = True
        self.runs: list[int] = []

    async def __call__(self, ctx: HandlerContext) -> None:
        self.runs.append(ctx.event.id)
        if self.broken:
            raise RuntimeError("bug in host handler")


@pytest.fixture
def handler(rt: Runtime) -> Switch:
    """The switch, registered as a host handler on the test's runtime."""
    switch = Switch()
    rt.handlers.register("invoice.*", switch, name="test.switch")
    return switch


async def _dead(runtime: Runtime, *types: str) -> list[int]:
    """Ingest one event per type and dispatch them; with one attempt allowed, the failing ones die."""
    ids = []
    async with client_for(runtime) as client:
        for event_type in types:
            response = await post_event(client, runtime, event(event_type))
            ids.append(int(response.json()["id"]))
    await runtime.drain()
    return ids


async def _statuses(runtime: Runtime) -> dict[int, str]:
    async with runtime.db.connect() as conn:
        rows = await conn.execute(sa.select(webhook_events.c.id, webhook_events.c.status))
        return {row.id: row.status for row in rows}


async def test_replay_after_a_fix_processes_the_event_once(rt: Runtime, handler: Switch, ops_events: list[Any]) -> None:
    [row_id] = await _dead(rt, "invoice.paid")
    assert (await _statuses(rt))[row_id] == "dead"
    handler.broken = False
    result = await replay_event(rt, row_id, actor="operator:test")
    assert result.replayed == 1
    assert (await _statuses(rt))[row_id] == "received"
    await rt.drain()
    assert (await _statuses(rt))[row_id] == "processed"
    assert handler.runs == [row_id, row_id]  # the failed attempt, then exactly one after the fix
    async with rt.db.connect() as conn:
        row = (await conn.execute(sa.select(webhook_events).where(webhook_events.c.id == row_id))).mappings().one()
        replays = sa.select(audit_log).where(audit_log.c.action == "webhooks.replay")
        audit = (await conn.execute(replays)).mappings().all()
    assert row["dead_at"] is None
    assert row["attempts"] == 2
    assert len(audit) == 1
    assert audit[0]["actor"] == "operator:test"
    assert audit[0]["subject"] == f"webhook_event:{row_id}"
    replays = [meta for name, meta in ops_events if name == "webhook_dlq.replay"]
    assert len(replays) == 1
    assert replays[0]["replayed"] == 1


async def test_a_replayed_event_that_fails_again_goes_back_to_dead(rt: Runtime, handler: Switch) -> None:
    [row_id] = await _dead(rt, "invoice.paid")
    await replay_event(rt, row_id, actor="t")
    await rt.drain()
    assert (await _statuses(rt))[row_id] == "dead"
    assert handler.runs == [row_id, row_id]


async def test_processed_or_unknown_events_cannot_be_replayed(rt: Runtime, handler: Switch) -> None:
    handler.broken = False
    [row_id] = await _dead(rt, "invoice.paid")
    with pytest.raises(WebhookError) as processed:
        await replay_event(rt, row_id, actor="t")
    assert processed.value.code == "not_replayable"
    with pytest.raises(WebhookError) as missing:
        await replay_event(rt, 999_999, actor="t")
    assert missing.value.code == "not_found"


async def test_a_dry_run_counts_and_changes_nothing(rt: Runtime, handler: Switch, ops_events: list[Any]) -> None:
    ids = await _dead(rt, "invoice.paid", "invoice.payment_failed", "customer.created")
    before = (await _statuses(rt), await count(rt, jobs), await count(rt, audit_log))
    result = await replay_matching(
        rt, EventFilter(statuses=(EventStatus.DEAD,), type_pattern="invoice.*"), actor="t", dry_run=True
    )
    assert result.dry_run is True
    assert result.matched == 2
    assert result.replayed == 0
    assert result.by_type == {"invoice.paid": 1, "invoice.payment_failed": 1}
    assert result.event_row_ids == ids[:2]
    assert (await _statuses(rt), await count(rt, jobs), await count(rt, audit_log)) == before
    assert [name for name, _ in ops_events if name == "webhook_dlq.replay"] == []


async def test_bulk_replay_filters_caps_and_staggers(rt: Runtime, handler: Switch) -> None:
    ids = await _dead(rt, "invoice.paid", "invoice.paid", "invoice.payment_failed", "customer.created")
    # customer.created has no failing host handler: processed, not dead
    statuses = await _statuses(rt)
    assert [statuses[i] for i in ids] == ["dead", "dead", "dead", "processed"]
    assert isinstance(rt.clock, FrozenClock)
    since = rt.clock.now() - timedelta(minutes=1)
    result = await replay_matching(
        rt,
        EventFilter(statuses=(EventStatus.DEAD,), type_pattern="invoice.*", since=since),
        actor="t",
        limit=2,
        stagger=30.0,
    )
    assert result.matched == 2
    assert result.replayed == 2
    assert result.event_row_ids == ids[:2]  # oldest first, capped
    async with rt.db.connect() as conn:
        queued = (
            await conn.execute(
                sa.select(jobs.c.args, jobs.c.scheduled_at)
                .where(jobs.c.state.in_(["available", "scheduled"]))
                .order_by(jobs.c.scheduled_at)
            )
        ).all()
    assert [row.args["webhook_event_id"] for row in queued] == ids[:2]
    assert [(row.scheduled_at - rt.clock.now()).total_seconds() for row in queued] == [0.0, 30.0]
    statuses = await _statuses(rt)
    assert [statuses[i] for i in ids] == ["received", "received", "dead", "processed"]


async def test_a_type_pattern_escapes_like_wildcards(rt: Runtime) -> None:
    async def always_fail(ctx: HandlerContext) -> None:
        raise RuntimeError("no")

    rt.handlers.register("*", always_fail, name="test.always_fail")
    try:
        await _dead(rt, "payment_intent.succeeded", "paymentXintent.succeeded")
    finally:
        rt.handlers.remove("test.always_fail")
    result = await replay_matching(rt, EventFilter(type_pattern="payment_intent.*"), actor="t", dry_run=True)
    assert result.by_type == {"payment_intent.succeeded": 1}


async def test_replaying_a_failed_event_brings_its_retry_forward(db_url: str) -> None:
    runtime = dispatch_runtime(webhook_settings(db_url, REMIT_WEBHOOK_MAX_ATTEMPTS="5"))
    handler = Switch()
    runtime.handlers.register("invoice.*", handler, name="test.switch")
    try:
        [row_id] = await _dead(runtime, "invoice.paid")
        assert (await _statuses(runtime))[row_id] == "failed"
        handler.broken = False
        result = await replay_matching(runtime, EventFilter(statuses=(EventStatus.FAILED,)), actor="t")
        assert result.replayed == 1
        assert result.hurried == 1
        assert await count(runtime, jobs) == 1  # no second job
        await runtime.drain()  # due now, without advancing the clock
        assert (await _statuses(runtime))[row_id] == "processed"
    finally:
        await runtime.close()


async def test_an_event_dead_lettered_by_a_permanent_failure_replays_once_after_the_fix(
    db_url: str, ops_events: list[Any]
) -> None:
    runtime = dispatch_runtime(webhook_settings(db_url, REMIT_WEBHOOK_MAX_ATTEMPTS="5"))
    runs: list[int] = []
    fixed = {"yes": False}

    async def seats(ctx: HandlerContext) -> None:
        runs.append(ctx.event.id)
        if not fixed["yes"]:
            raise PermanentFailure("metadata.seats is not a whole number")

    runtime.handlers.register("invoice.*", seats, name="test.seats")
    try:
        [row_id] = await _dead(runtime, "invoice.paid")
        assert (await _statuses(runtime))[row_id] == "dead"  # after 1 of 5 attempts
        assert len([name for name, _ in ops_events if name == "webhook_dlq.dead_lettered"]) == 1
        async with runtime.db.connect() as conn:
            dead = (
                await conn.execute(sa.select(webhook_events.c.handler_results).where(webhook_events.c.id == row_id))
            ).scalar_one()
        fixed["yes"] = True
        assert isinstance(runtime.clock, FrozenClock)
        runtime.clock.advance(timedelta(minutes=5))  # so a second run of any handler would show
        result = await replay_event(runtime, row_id, actor="operator:test")
        assert result.replayed == 1
        outcomes = await runtime.drain()
        assert outcomes["completed"] == 1
        assert (await _statuses(runtime))[row_id] == "processed"
        assert runs == [row_id, row_id]
        async with runtime.db.connect() as conn:
            row = (await conn.execute(sa.select(webhook_events).where(webhook_events.c.id == row_id))).mappings().one()
            states = [r.state for r in await conn.execute(sa.select(jobs.c.state).order_by(jobs.c.id))]
        assert row["attempts"] == 2
        assert row["dead_at"] is None
        assert row["handler_results"]["test.seats"]["ok"] is True
        assert row["handler_results"]["remit.mirror"] == dead["remit.mirror"]  # the mirror ran once, at first
        assert states == ["discarded", "completed"]  # the job that gave up, then the replay's
    finally:
        await runtime.close()
