"""Runtime flags in the database: every process obeys a switch within its refresh interval, without a restart;
billing off holds webhook events and billing on releases them — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from remit import audit
from remit.control.switches import switch
from remit.flags import FlagCache, UnknownFlag, switches_from_rows
from remit.parts import build_runtime
from remit.runtime import Runtime
from remit.webhooks.dead_letters import get_event
from remit.webhooks.events import EventStatus
from tests.support.webhooks import client_for, event, make_runtime, post_event, webhook_settings

Emitted = list[tuple[str, dict[str, Any]]]
pytestmark = pytest.mark.webhook_settings(REMIT_FLAGS_REFRESH_SECONDS="0")


async def _status(runtime: Runtime, row_id: int) -> EventStatus:
    async with runtime.db.connect() as conn:
        stored = await get_event(conn, row_id)
    assert stored is not None
    return stored.status


async def _deliver(runtime: Runtime) -> int:
    async with client_for(runtime) as client:
        response = await post_event(
            client, runtime, event("customer.created", obj={"id": "cus_f1", "object": "customer"})
        )
    assert response.status_code == 200
    return int(response.json()["id"])


def test_a_flag_nobody_set_takes_its_environment_value(db_url: str) -> None:
    settings = webhook_settings(db_url, REMIT_FLAG_BILLING="false", REMIT_FLAG_ORIGIN_GUARD="true")
    switches = switches_from_rows({}, settings)
    assert (switches.billing, switches.origin_guard, switches.dispatching) == (False, True, False)
    assert {state.source for state in switches.flags.values()} == {"environment"}
    with pytest.raises(UnknownFlag):
        switches.enabled("nosuch")


async def test_another_process_obeys_a_switch_within_its_refresh_interval_without_a_restart(db_url: str) -> None:
    """The service's cache ages on a clock the test steps: a wall clock let a slow switch (a loaded machine,
    an SQLite write) outlast the refresh interval before the cached view was looked at, failing the test."""
    operator = make_runtime(webhook_settings(db_url))
    service = make_runtime(webhook_settings(db_url, REMIT_FLAGS_REFRESH_SECONDS="0.3"))
    now = [1000.0]
    service.flags.monotonic = lambda: now[0]
    try:
        assert (await service.flags.switches()).billing is True  # read, and cached
        await switch(operator, "billing", False, actor="operator:ada")
        now[0] += 0.29
        assert (await service.flags.switches()).billing is True  # its cached view, for a moment
        now[0] += 0.02  # past the refresh interval
        current = await service.flags.switches()
        assert current.billing is False
        assert (current.flags["billing"].source, current.flags["billing"].updated_by) == ("database", "operator:ada")
    finally:
        await operator.close()
        await service.close()


async def test_the_database_wins_over_the_environment_once_an_operator_set_a_flag(db_url: str) -> None:
    first = make_runtime(webhook_settings(db_url, REMIT_FLAG_BILLING="false"))
    try:
        await switch(first, "billing", True, actor="operator:ada")
    finally:
        await first.close()
    restarted = make_runtime(webhook_settings(db_url, REMIT_FLAG_BILLING="false", REMIT_FLAGS_REFRESH_SECONDS="0"))
    try:
        assert (await restarted.flags.switches()).billing is True
    finally:
        await restarted.close()


async def test_switching_billing_is_audited_and_emits_billing_switched_only_when_it_changes(
    rt: Runtime, ops_events: Emitted
) -> None:
    await switch(rt, "billing", False, actor="operator:ada")
    await switch(rt, "billing", False, actor="operator:ada")  # already off: audited, not announced
    await switch(rt, "origin_guard", True, actor="operator:ada")  # not billing: no billing_switched
    await switch(rt, "billing", True, actor="operator:bob")
    assert [(name, meta) for name, meta in ops_events if name == "billing_switched"] == [
        ("billing_switched", {"enabled": False, "previous": True, "actor": "operator:ada"}),
        ("billing_switched", {"enabled": True, "previous": False, "actor": "operator:bob"}),
    ]
    async with rt.db.connect() as conn:
        trail = await audit.entries(conn, subjects=["flag:billing", "flag:origin_guard"])
    assert [(entry.action, entry.subject, entry.actor, entry.details["enabled"]) for entry in trail] == [
        ("flags.set", "flag:billing", "operator:ada", False),
        ("flags.set", "flag:billing", "operator:ada", False),
        ("flags.set", "flag:origin_guard", "operator:ada", True),
        ("flags.set", "flag:billing", "operator:bob", True),
    ]


async def test_billing_off_holds_new_and_queued_events_and_billing_on_releases_them(rt: Runtime) -> None:
    queued = await _deliver(rt)  # stored while billing is on: its dispatch job waits
    await switch(rt, "billing", False, actor="operator:ada")
    arrived = await _deliver(rt)  # stored while billing is off: held, no job
    assert await _status(rt, arrived) is EventStatus.HELD
    await rt.drain()  # the queued dispatch runs, sees billing off, parks its event
    assert await _status(rt, queued) is EventStatus.HELD

    done = await switch(rt, "billing", True, actor="operator:ada")
    assert done.released == 2
    await rt.drain()
    assert [await _status(rt, row) for row in (queued, arrived)] == [EventStatus.PROCESSED, EventStatus.PROCESSED]


async def test_the_periodic_release_catches_an_event_held_after_the_switch(rt: Runtime) -> None:
    await switch(rt, "billing", False, actor="operator:ada")
    held = await _deliver(rt)
    # The second process shares the test's frozen clock: the dispatch job its release enqueues must be due
    # for ``rt.drain()`` (a clock read a second later would schedule it in rt's future).
    stale = build_runtime(webhook_settings(rt.settings.database_url), clock=rt.clock)
    try:
        await switch(stale, "billing", True, actor="operator:ada")  # releases what was held so far
        stale.flags.remember(
            switches_from_rows({}, webhook_settings(rt.settings.database_url, REMIT_FLAG_BILLING="false"))
        )
        late = await _deliver(stale)  # a process whose view is still "off" parks one more
    finally:
        await stale.close()
    assert await _status(rt, late) is EventStatus.HELD
    counts = await rt.engine.run_periodic("webhooks.release_held", app=rt, raise_errors=True)
    assert counts == {"released": 1}
    await rt.drain()
    assert [await _status(rt, row) for row in (held, late)] == [EventStatus.PROCESSED, EventStatus.PROCESSED]


async def test_concurrent_readers_share_one_read_of_a_stale_cache(rt: Runtime) -> None:
    from sqlalchemy import event as sa_event

    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "remit_flags" in statement:
            statements.append(statement)

    cache = FlagCache(rt.db, rt.settings, ttl=60)
    engines = [rt.db.engine.sync_engine, rt.db.reader_engine.sync_engine]
    for engine in engines:
        sa_event.listen(engine, "before_cursor_execute", count)
    try:
        results = await asyncio.gather(*(cache.switches() for _ in range(10)))
        await cache.switches()
    finally:
        for engine in engines:
            sa_event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert len({id(result) for result in results}) == 1


async def test_the_cache_reads_ahead_so_no_caller_waits_for_a_read_while_its_value_is_young(rt: Runtime) -> None:
    cache = FlagCache(rt.db, rt.settings, ttl=60)
    assert (await cache.switches()).billing
    await switch(rt, "billing", False, actor="operator:ada")  # another process's cache: not invalidated
    cache._read_at -= 36  # its value now 36 s old: past half the ttl, within it (no sleep a loaded machine stretches)
    reads: list[object] = []
    real_read = rt.db.read
    rt.db.read = lambda: reads.append(1) or real_read()  # type: ignore[method-assign]
    try:
        assert (await cache.switches()).billing  # answered from the cache at once...
        assert cache._ahead is not None  # ...having started the next read in the background
        assert not cache._ahead.done()
        for _ in range(100):
            if cache._ahead is not None and cache._ahead.done():
                break
            await asyncio.sleep(0.01)
        assert not (await cache.switches()).billing  # the read ahead brought the change in
        assert len(reads) == 1
    finally:
        rt.db.read = real_read  # type: ignore[method-assign]
