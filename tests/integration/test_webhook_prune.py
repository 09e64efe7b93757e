"""Pruning respects retention: processed after 14 days, dead after 90, nothing still in flight."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from remit import webhooks
from remit.clock import FrozenClock
from remit.db.tables import audit_log, webhook_events
from remit.periodic import Cron
from remit.runtime import Runtime
from remit.webhooks.handlers import HandlerContext
from remit.webhooks.prune import PRUNE_TASK, prune_events
from tests.support.webhooks import client_for, count, event, post_event

pytestmark = pytest.mark.webhook_settings(REMIT_WEBHOOK_MAX_ATTEMPTS="1")


async def _failing(ctx: HandlerContext) -> None:
    raise RuntimeError("dies")


async def _seed(runtime: Runtime) -> dict[str, int]:
    """Two processed events, one dead, one still received (never dispatched)."""
    runtime.handlers.register("charge.failed", _failing, name="test.prune_failing")
    try:
        async with client_for(runtime) as client:
            for event_type in ("customer.created", "customer.updated", "charge.failed"):
                assert (await post_event(client, runtime, event(event_type))).status_code == 200
            await runtime.drain()
            assert (await post_event(client, runtime, event("invoice.created"))).status_code == 200
    finally:
        runtime.handlers.remove("test.prune_failing")
    async with runtime.db.connect() as conn:
        rows = await conn.execute(sa.select(webhook_events.c.status, sa.func.count()).group_by(webhook_events.c.status))
        return {status: int(n) for status, n in rows}


def _advance(runtime: Runtime, days: float) -> None:
    assert isinstance(runtime.clock, FrozenClock)
    runtime.clock.advance(timedelta(days=days))


async def test_prune_keeps_everything_inside_retention(rt: Runtime) -> None:
    assert await _seed(rt) == {"processed": 2, "dead": 1, "received": 1}
    _advance(rt, 13.9)
    result = await prune_events(rt, actor="t")
    assert result.total == 0
    assert await count(rt, webhook_events) == 4


async def test_processed_go_after_14_days_and_dead_after_90(rt: Runtime, ops_events: list[Any]) -> None:
    await _seed(rt)
    _advance(rt, 14.1)
    first = await prune_events(rt, actor="operator:ann")
    assert (first.processed, first.dead) == (2, 0)
    _advance(rt, 80)
    second = await prune_events(rt, actor="operator:ann")
    assert (second.processed, second.dead) == (0, 1)
    async with rt.db.connect() as conn:
        left = (await conn.execute(sa.select(webhook_events.c.status))).scalars().all()
        audit = (await conn.execute(sa.select(audit_log).order_by(audit_log.c.id))).mappings().all()
    assert left == ["received"]  # never dispatched: kept however old
    assert [(a["action"], a["actor"], a["details"]["status"], a["details"]["deleted"]) for a in audit] == [
        ("webhooks.prune", "operator:ann", "processed", 2),
        ("webhooks.prune", "operator:ann", "dead", 1),
    ]
    pruned = [meta for name, meta in ops_events if name == "webhook_dlq.prune"]
    assert [(m["processed"], m["dead"]) for m in pruned] == [(2, 0), (0, 1)]


async def test_a_dry_run_counts_and_deletes_nothing(rt: Runtime) -> None:
    await _seed(rt)
    _advance(rt, 100)
    result = await prune_events(rt, dry_run=True, actor="t")
    assert result.dry_run is True
    assert (result.processed, result.dead) == (2, 1)
    assert await count(rt, webhook_events) == 4
    assert await count(rt, audit_log) == 0


async def test_prune_deletes_in_batches(rt: Runtime) -> None:
    await _seed(rt)
    _advance(rt, 100)
    result = await prune_events(rt, actor="t", batch=1)
    assert (result.processed, result.dead) == (2, 1)
    assert await count(rt, audit_log) == 3  # one audit row per batch transaction


async def test_the_scheduled_prune_job_runs_on_the_maintenance_queue(rt: Runtime) -> None:
    assert (PRUNE_TASK.name, PRUNE_TASK.schedule) == ("webhooks.prune", Cron("17 3 * * *"))
    assert PRUNE_TASK.leader_only
    assert PRUNE_TASK.queue == "remit_maintenance"
    assert PRUNE_TASK in webhooks.PART.periodic
    await _seed(rt)
    _advance(rt, 100)
    assert "webhooks.prune" in await rt.engine.fire_due()  # the leader's tick enqueues the day's prune
    # the day's prune, and billing.prune_actions (also on remit_maintenance, also due on the first tick)
    assert (await rt.drain(["remit_maintenance"]))["completed"] == 2
    assert await count(rt, webhook_events) == 1
