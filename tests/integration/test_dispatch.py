"""The dispatch job: default handler then host handlers, each isolated; retries with backoff; dead letters."""

from __future__ import annotations

import gc
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from remit.api.app import create_app
from remit.clock import FrozenClock
from remit.db.tables import jobs, webhook_events
from remit.db.tables.mirror import subscriptions
from remit.errors import PermanentFailure
from remit.jobs.signals import Snooze
from remit.runtime import Runtime
from remit.webhooks.events import EventStatus
from remit.webhooks.handlers import HandlerContext
from remit.webhooks.held import release_held
from tests.support.webhooks import client_for, count, dispatch_runtime, event, post_event, webhook_settings

MAX_ATTEMPTS = 3
pytestmark = [
    pytest.mark.webhook_settings(REMIT_WEBHOOK_MAX_ATTEMPTS=str(MAX_ATTEMPTS)),
    pytest.mark.webhooks_part_only,
]


@pytest.fixture
def calls() -> list[str]:
    """What the host handlers a test registers (on its own runtime) record: each appends its name when it runs."""
    return []


async def _ingest(runtime: Runtime, document: dict[str, Any]) -> int:
    async with client_for(runtime) as client:
        response = await post_event(client, runtime, document)
    assert response.status_code == 200
    return int(response.json()["id"])


async def _event(runtime: Runtime, row_id: int) -> Any:
    async with runtime.db.connect() as conn:
        return (await conn.execute(sa.select(webhook_events).where(webhook_events.c.id == row_id))).mappings().one()


def _advance(runtime: Runtime, seconds: float) -> None:
    assert isinstance(runtime.clock, FrozenClock)
    runtime.clock.advance(timedelta(seconds=seconds))


async def test_the_default_handler_and_host_handlers_run_in_order(rt: Runtime, calls: list[str]) -> None:
    async def paid(ctx: HandlerContext) -> None:
        calls.append(f"paid:{ctx.type}:{ctx.data_object['id']}")

    async def everything(ctx: HandlerContext) -> None:
        calls.append(f"everything:{ctx.event.id}")

    rt.handlers.register("invoice.*", paid, name="test.paid")
    rt.handlers.register("*", everything, name="test.everything")
    document = event("invoice.paid", obj={"id": "in_order", "object": "invoice", "status": "paid"})
    row_id = await _ingest(rt, document)
    outcomes = await rt.drain()
    assert outcomes["completed"] == 1
    assert calls == ["paid:invoice.paid:in_order", f"everything:{row_id}"]
    row = await _event(rt, row_id)
    assert row["status"] == EventStatus.PROCESSED.value
    assert row["attempts"] == 1
    assert row["processed_at"] == rt.clock.now()
    assert set(row["handler_results"]) == {"remit.mirror", "test.paid", "test.everything"}  # JSONB: no order


async def test_an_unknown_type_is_stored_acknowledged_and_processed(rt: Runtime) -> None:
    row_id = await _ingest(rt, event("remit.test.never_heard_of_it", obj={"id": "zz_1", "object": "zz"}))
    await rt.drain()
    row = await _event(rt, row_id)
    assert row["status"] == EventStatus.PROCESSED.value
    assert row["handler_results"]["remit.mirror"]["ok"] is True


async def test_a_failing_handler_does_not_hide_the_others_and_retries_until_dead(
    rt: Runtime, calls: list[str], ops_events: list[tuple[str, dict[str, Any]]]
) -> None:
    async def paid(ctx: HandlerContext) -> None:
        calls.append("paid")

    async def flaky(ctx: HandlerContext) -> None:
        calls.append("flaky")
        raise RuntimeError("downstream said no")

    rt.handlers.register("invoice.paid", flaky, name="test.flaky")
    rt.handlers.register("invoice.paid", paid, name="test.paid")
    row_id = await _ingest(rt, event("invoice.paid"))

    first = await rt.drain()
    assert first["retryable"] == 1
    assert calls == ["flaky", "paid"]  # the one after the failure still ran
    row = await _event(rt, row_id)
    assert row["status"] == EventStatus.FAILED.value
    assert row["last_error"]["type"] == "RuntimeError"
    assert row["last_error"]["handler"] == "test.flaky"
    assert row["handler_results"]["test.paid"]["ok"] is True
    assert row["handler_results"]["test.flaky"]["ok"] is False
    async with rt.db.connect() as conn:
        job = (await conn.execute(sa.select(jobs))).mappings().one()
    assert job["state"] == "retryable"
    assert job["scheduled_at"] > rt.clock.now()  # backoff: not due yet
    assert sum((await rt.drain()).values()) == 0  # nothing runs before it is due

    for attempt in range(2, MAX_ATTEMPTS + 1):
        _advance(rt, 24 * 3600)
        outcome = await rt.drain()
        assert outcome["discarded" if attempt == MAX_ATTEMPTS else "retryable"] == 1
    # the handler that succeeded on the first attempt never ran again
    assert calls == ["flaky", "paid"] + ["flaky"] * (MAX_ATTEMPTS - 1)
    row = await _event(rt, row_id)
    assert row["status"] == EventStatus.DEAD.value
    assert row["attempts"] == MAX_ATTEMPTS
    assert row["dead_at"] is not None
    dead = [meta for name, meta in ops_events if name == "webhook_dlq.dead_lettered"]
    assert len(dead) == 1
    assert dead[0]["event_id"] == row_id
    assert dead[0]["processor_event_id"] == row["event_id"]
    assert dead[0]["event_type"] == "invoice.paid"


async def test_backoff_grows_between_attempts(rt: Runtime, calls: list[str]) -> None:
    async def flaky(ctx: HandlerContext) -> None:
        raise ValueError("still broken")

    rt.handlers.register("invoice.paid", flaky, name="test.flaky")
    await _ingest(rt, event("invoice.paid"))
    delays = []
    for _ in range(MAX_ATTEMPTS - 1):
        await rt.drain()
        async with rt.db.connect() as conn:
            job = (await conn.execute(sa.select(jobs.c.scheduled_at, jobs.c.state))).one()
        assert job.state == "retryable"
        delays.append((job.scheduled_at - rt.clock.now()).total_seconds())
        _advance(rt, delays[-1])
    assert 0 < delays[0] < delays[1]


async def test_a_dispatch_with_billing_switched_off_holds_the_event(db_url: str) -> None:
    on = dispatch_runtime(webhook_settings(db_url))
    off = replace(on, settings=webhook_settings(db_url, REMIT_FLAG_BILLING="false"))
    try:
        row_id = await _ingest(on, event("customer.created", obj={"id": "cus_hold", "object": "customer"}))
        assert (await off.drain())["completed"] == 1
        assert (await _event(on, row_id))["status"] == EventStatus.HELD.value
        assert await release_held(off) == 0  # still off: stays held
        assert await release_held(on) == 1
        await on.drain()
        assert (await _event(on, row_id))["status"] == EventStatus.PROCESSED.value
    finally:
        await on.close()


async def test_held_events_are_released_and_dispatched_once(db_url: str) -> None:
    off = dispatch_runtime(webhook_settings(db_url, REMIT_FLAG_BILLING="false"))
    on = replace(off, settings=webhook_settings(db_url))
    try:
        ids = [await _ingest(off, event("invoice.paid")) for _ in range(3)]
        assert await count(off, jobs) == 0
        assert sum((await off.drain()).values()) == 0  # nothing queued while off
        released = await release_held(on)
        again = await release_held(on)
        assert released == 3
        assert again == 0
        assert await count(on, jobs) == 3
        await on.drain()
        for row_id in ids:
            assert (await _event(on, row_id))["status"] == EventStatus.PROCESSED.value
    finally:
        await off.close()


async def test_a_restart_with_billing_on_releases_the_held_events(db_url: str) -> None:
    """The flag is read at start, so turning it on is a restart: the app's start-up (its lifespan, which
    uvicorn runs for ``remit up`` and ``remit serve``) releases what was held, with no operator step."""
    off = dispatch_runtime(webhook_settings(db_url, REMIT_FLAG_BILLING="false"))
    on = replace(off, settings=webhook_settings(db_url))
    try:
        ids = [await _ingest(off, event("invoice.paid")) for _ in range(2)]
        app = create_app(on)
        try:
            async with app.router.lifespan_context(app):
                statuses = {(await _event(on, row_id))["status"] for row_id in ids}
                assert statuses == {EventStatus.RECEIVED.value}
                assert await count(on, jobs) == 2
        finally:
            gc.unfreeze()  # the lifespan freezes the collector's view of start-up objects; not the test's
        await on.drain()
        assert {(await _event(on, row_id))["status"] for row_id in ids} == {EventStatus.PROCESSED.value}
    finally:
        await off.close()


async def test_a_snoozing_handler_runs_again_later_without_spending_an_attempt(rt: Runtime, calls: list[str]) -> None:
    state = {"snooze": True}

    async def flaky(ctx: HandlerContext) -> None:
        calls.append("flaky")
        if state["snooze"]:
            raise Snooze(30, "rate limited")

    async def paid(ctx: HandlerContext) -> None:
        calls.append("paid")

    rt.handlers.register("invoice.paid", flaky, name="test.flaky")
    rt.handlers.register("invoice.paid", paid, name="test.paid")
    row_id = await _ingest(rt, event("invoice.paid"))
    assert (await rt.drain())["snoozed"] == 1
    row = await _event(rt, row_id)
    assert row["status"] == EventStatus.RECEIVED.value  # not processed: one handler still has to run
    assert row["handler_results"]["test.paid"]["ok"] is True
    state["snooze"] = False
    _advance(rt, 31)
    assert (await rt.drain())["completed"] == 1
    assert calls == ["flaky", "paid", "flaky"]
    assert (await _event(rt, row_id))["status"] == EventStatus.PROCESSED.value


class SeatsUnreadable(PermanentFailure):
    """A host's permanent failure (a subclass, as a host would declare one)."""


async def test_a_permanent_failure_dead_letters_the_event_on_the_first_attempt(
    rt: Runtime, calls: list[str], ops_events: list[tuple[str, dict[str, Any]]]
) -> None:
    async def permanent(ctx: HandlerContext) -> None:
        calls.append("permanent")
        raise SeatsUnreadable(f"subscription {ctx.data_object['id']}: metadata.seats is not a whole number")

    async def paid(ctx: HandlerContext) -> None:
        calls.append("paid")

    rt.handlers.register("customer.subscription.*", permanent, name="test.permanent")
    rt.handlers.register("customer.subscription.*", paid, name="test.paid")
    document = event(
        "customer.subscription.created",
        obj={
            "id": "sub_perm",
            "object": "subscription",
            "customer": "cus_perm",
            "status": "active",
            "metadata": {"seats": "twelve"},
        },
    )
    row_id = await _ingest(rt, document)
    outcome = await rt.drain()
    assert outcome["discarded"] == 1
    assert outcome["retryable"] == 0
    assert calls == ["permanent", "paid"]
    row = await _event(rt, row_id)
    assert row["status"] == EventStatus.DEAD.value
    assert row["attempts"] == 1
    assert row["dead_at"] is not None
    # the handler-level error is what the operator sees, as for any failure
    assert row["last_error"]["handler"] == "test.permanent"
    assert row["last_error"]["type"] == "SeatsUnreadable"
    assert row["last_error"]["message"] == "subscription sub_perm: metadata.seats is not a whole number"
    assert set(row["last_error"]["handlers"]) == {"test.permanent"}
    # the mirror and the other host handler kept their results
    assert row["handler_results"]["remit.mirror"]["ok"] is True
    assert row["handler_results"]["test.paid"]["ok"] is True
    assert row["handler_results"]["test.permanent"]["ok"] is False
    async with rt.db.connect() as conn:
        job = (await conn.execute(sa.select(jobs))).mappings().one()
        mirrored = await conn.execute(
            sa.select(sa.func.count()).select_from(subscriptions).where(subscriptions.c.stripe_id == "sub_perm")
        )
        assert mirrored.scalar_one() == 1
    assert job["state"] == "discarded"
    assert job["attempt"] == 1
    assert job["max_attempts"] == MAX_ATTEMPTS
    assert [e["type"] for e in job["errors"]] == ["Discard"]
    assert "test.permanent (SeatsUnreadable)" in job["errors"][0]["message"]
    dead = [meta for name, meta in ops_events if name == "webhook_dlq.dead_lettered"]
    assert len(dead) == 1
    assert dead[0]["event_id"] == row_id
    assert dead[0]["attempt"] == 1
    assert dead[0]["error_type"] == "SeatsUnreadable"
    _advance(rt, 24 * 3600)
    assert sum((await rt.drain()).values()) == 0  # nothing retries a dead letter
    assert calls == ["permanent", "paid"]


async def test_a_transient_failure_beside_a_permanent_one_keeps_the_event_retrying(
    rt: Runtime, calls: list[str], ops_events: list[tuple[str, dict[str, Any]]]
) -> None:
    state = {"down": True}

    async def permanent(ctx: HandlerContext) -> None:
        calls.append("permanent")
        raise PermanentFailure("invoice cannot be read by the host")

    async def flaky(ctx: HandlerContext) -> None:
        calls.append("flaky")
        if state["down"]:
            raise RuntimeError("downstream timed out")

    rt.handlers.register("invoice.paid", permanent, name="test.permanent")
    rt.handlers.register("invoice.paid", flaky, name="test.flaky")
    row_id = await _ingest(rt, event("invoice.paid"))
    assert (await rt.drain())["retryable"] == 1
    row = await _event(rt, row_id)
    assert row["status"] == EventStatus.FAILED.value
    assert set(row["last_error"]["handlers"]) == {"test.permanent", "test.flaky"}
    assert not [name for name, _ in ops_events if name == "webhook_dlq.dead_lettered"]

    state["down"] = False  # the transient one recovers; only the permanent one is left: give up now
    _advance(rt, 24 * 3600)
    assert (await rt.drain())["discarded"] == 1
    assert calls == ["permanent", "flaky", "permanent", "flaky"]
    row = await _event(rt, row_id)
    assert row["status"] == EventStatus.DEAD.value
    assert row["attempts"] == 2 < MAX_ATTEMPTS
    assert row["handler_results"]["test.flaky"]["ok"] is True
    assert set(row["last_error"]["handlers"]) == {"test.permanent"}
    assert len([name for name, _ in ops_events if name == "webhook_dlq.dead_lettered"]) == 1


async def test_a_permanent_failure_beside_a_snooze_waits_for_the_snoozed_handler(rt: Runtime, calls: list[str]) -> None:
    async def permanent(ctx: HandlerContext) -> None:
        calls.append("permanent")
        raise PermanentFailure("never")

    async def snoozy(ctx: HandlerContext) -> None:
        calls.append("snoozy")
        raise Snooze(30, "rate limited")

    rt.handlers.register("invoice.paid", permanent, name="test.permanent")
    rt.handlers.register("invoice.paid", snoozy, name="test.flaky")
    row_id = await _ingest(rt, event("invoice.paid"))
    assert (await rt.drain())["retryable"] == 1  # the snoozed handler has not had its chance yet
    assert (await _event(rt, row_id))["status"] == EventStatus.FAILED.value
