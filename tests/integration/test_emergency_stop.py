"""The emergency stop: every queue paused and webhooks held (ingest keeps storing), undone exactly by start —
on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from remit import audit
from remit.control.stop import start_all, start_queue, stop_all, stop_queue
from remit.runtime import Runtime
from remit.webhooks.dead_letters import get_event
from remit.webhooks.events import EventStatus
from tests.support import jobs as J
from tests.support.webhooks import client_for, event, post_event

Emitted = list[tuple[str, dict[str, Any]]]
pytestmark = pytest.mark.webhook_settings(REMIT_FLAGS_REFRESH_SECONDS="0")


async def _deliver(runtime: Runtime, n: int) -> int:
    body = event("customer.created", obj={"id": f"cus_stop_{n}", "object": "customer"})
    async with client_for(runtime) as client:
        response = await post_event(client, runtime, body)
    assert response.status_code == 200
    return int(response.json()["id"])


async def _status(runtime: Runtime, row_id: int) -> EventStatus:
    async with runtime.db.connect() as conn:
        stored = await get_event(conn, row_id)
    assert stored is not None
    return stored.status


async def test_stop_all_pauses_every_queue_holds_webhooks_and_start_all_undoes_exactly_that(
    rt: Runtime, ops_events: Emitted
) -> None:
    async with rt.db.begin() as conn:
        await rt.engine.enqueue(conn, J.noop, {}, queue="host_exports")  # a host queue nobody configured
    await rt.engine.pause("remit_mailers", actor="operator:earlier")  # paused for its own reason
    before = await _deliver(rt, 1)  # its dispatch job is queued

    stopped = await stop_all(rt, actor="operator:ada")
    known = await rt.engine.known_queues()
    assert "host_exports" in known
    assert "remit_ops" in known
    assert set(stopped.queues) == set(known) - {"remit_mailers"}
    assert stopped.untouched == ("remit_mailers",)
    assert await rt.engine.paused_queues() == set(known)
    during = await _deliver(rt, 2)  # still stored, as held
    assert await _status(rt, during) is EventStatus.HELD
    assert (await rt.drain())["completed"] == 0  # nothing runs: every queue is paused
    assert await _status(rt, before) is EventStatus.RECEIVED

    started = await start_all(rt, actor="operator:bob")
    assert set(started.queues) == set(stopped.queues)
    assert started.untouched == ("remit_mailers",)  # not the stop's to resume
    assert started.released == 1
    assert await rt.engine.paused_queues() == {"remit_mailers"}
    await rt.drain()
    assert [await _status(rt, row) for row in (before, during)] == [EventStatus.PROCESSED, EventStatus.PROCESSED]

    assert [
        (meta["action"], meta["scope"], meta["actor"]) for name, meta in ops_events if name == "emergency_stop"
    ] == [
        ("stop", "all", "operator:ada"),
        ("start", "all", "operator:bob"),
    ]
    async with rt.db.connect() as conn:
        trail = await audit.entries(conn, subjects=["emergency_stop"])
    assert [(entry.action, entry.actor) for entry in trail] == [
        ("emergency_stop.stop", "operator:ada"),
        ("emergency_stop.start", "operator:bob"),
    ]


async def test_a_second_stop_keeps_the_first_ones_time_and_adds_new_queues(rt: Runtime) -> None:
    first = await stop_all(rt, actor="operator:ada")
    async with rt.db.begin() as conn:
        await rt.engine.enqueue(conn, J.noop, {}, queue="appeared_later")
    second = await stop_all(rt, actor="operator:bob")
    assert second.queues == ("appeared_later",)
    assert second.stop is not None
    assert first.stop is not None
    assert (second.stop.since, second.stop.by) == (first.stop.since, "operator:ada")
    assert "appeared_later" in second.stop.queues
    started = await start_all(rt, actor="operator:ada")
    assert "appeared_later" in started.queues
    assert await rt.engine.paused_queues() == set()


async def test_stop_and_start_one_queue(rt: Runtime, ops_events: Emitted) -> None:
    await stop_queue(rt, "remit_webhooks", actor="operator:ada")
    assert await rt.engine.paused_queues() == {"remit_webhooks"}
    row = await _deliver(rt, 3)  # one queue stopped: webhooks are stored and queued, not held
    assert await _status(rt, row) is EventStatus.RECEIVED
    await rt.drain()
    assert await _status(rt, row) is EventStatus.RECEIVED
    await start_queue(rt, "remit_webhooks", actor="operator:ada")
    await rt.drain()
    assert await _status(rt, row) is EventStatus.PROCESSED
    assert [
        (meta["action"], meta["scope"], meta["queue"]) for name, meta in ops_events if name == "emergency_stop"
    ] == [
        ("stop", "queue", "remit_webhooks"),
        ("start", "queue", "remit_webhooks"),
    ]
