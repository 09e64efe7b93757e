"""The ledger on SQLite and PostgreSQL: idempotent appends, reads with upcasting, and a table that refuses
UPDATE and DELETE."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from remit import ledger
from remit.clock import FrozenClock
from remit.db.engine import Database
from remit.db.tables import ledger_events
from remit.errors import UpcastError
from remit.telemetry import ops

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    frozen = FrozenClock(datetime(2026, 2, 1, 9, 0, tzinfo=UTC))
    previous = ledger.use_clock(frozen)
    yield frozen
    ledger.use_clock(previous)


async def _record(db: Database, key: str, **overrides: Any) -> int | None:
    fields: dict[str, Any] = {
        "type": "webhook.received",
        "subject": "customer:cus_1",
        "actor": "processor",
        "data": {"event_id": key, "amount": 100},
        "idempotency_key": key,
    }
    fields.update(overrides)
    async with db.begin() as conn:
        return await ledger.record(conn, **fields)


async def _count(db: Database) -> int:
    async with db.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(ledger_events))).scalar_one())


async def test_record_appends_and_a_repeated_key_is_a_no_op(database: Database, clock: FrozenClock) -> None:
    first = await _record(database, "webhook:evt_1")
    again = await _record(database, "webhook:evt_1", data={"event_id": "different"})
    assert isinstance(first, int)
    assert again is None
    async with database.connect() as conn:
        events = await ledger.read(conn)
    assert [(e.id, e.type, e.schema_version, e.subject, e.actor, e.data, e.recorded_at) for e in events] == [
        (
            first,
            "webhook.received",
            1,
            "customer:cus_1",
            "processor",
            {"event_id": "webhook:evt_1", "amount": 100},
            clock.now(),
        )
    ]


async def test_concurrent_records_of_one_key_store_exactly_one(database: Database, clock: FrozenClock) -> None:
    results = await asyncio.gather(*[_record(database, "webhook:evt_race") for _ in range(10)])
    assert sum(result is not None for result in results) == 1
    assert await _count(database) == 1


async def test_a_rolled_back_transaction_leaves_no_event(database: Database, clock: FrozenClock) -> None:
    with pytest.raises(RuntimeError):
        async with database.begin() as conn:
            await ledger.record(
                conn, type="x.y", subject="customer:cus_1", actor="system", data={}, idempotency_key="rollback"
            )
            raise RuntimeError("the billing write failed")
    assert await _count(database) == 0


async def test_personal_data_is_refused_before_anything_is_written(database: Database, clock: FrozenClock) -> None:
    with pytest.raises(ValueError, match=r"customer\.email") as info:
        await _record(database, "pii", data={"customer": {"email": "jane@example.com"}})
    assert "jane" not in str(info.value)
    assert await _count(database) == 0


def _entry(key: str, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "type": "webhook.received",
        "subject": "customer:cus_1",
        "actor": "processor",
        "data": {"event_id": key},
        "idempotency_key": key,
    }
    fields.update(overrides)
    return fields


async def test_record_many_appends_each_once_in_one_call_and_skips_known_keys(
    database: Database, clock: FrozenClock
) -> None:
    await _record(database, "many:known")
    async with database.begin() as conn:
        await ledger.record_many(conn, [_entry("many:1"), _entry("many:known"), _entry("many:2", subject="x:y")])
        await ledger.record_many(conn, [])
    async with database.begin() as conn:
        await ledger.record_many(conn, [_entry("many:1"), _entry("many:2")])  # a retried batch: nothing new
    async with database.connect() as conn:
        events = await ledger.read(conn)
    assert [(e.data["event_id"], e.subject, e.schema_version, e.recorded_at) for e in events] == [
        ("many:known", "customer:cus_1", 1, clock.now()),
        ("many:1", "customer:cus_1", 1, clock.now()),
        ("many:2", "x:y", 1, clock.now()),
    ]


async def test_record_many_refuses_personal_data_before_writing_any(database: Database, clock: FrozenClock) -> None:
    batch = [_entry("ok:1"), _entry("pii:1", data={"billing_details": {"name": "Jane"}})]
    with pytest.raises(ValueError, match="billing_details") as info:
        async with database.begin() as conn:
            await ledger.record_many(conn, batch)
    assert "Jane" not in str(info.value)
    with pytest.raises(ValueError, match="idempotency_key"):
        async with database.begin() as conn:
            await ledger.record_many(conn, [_entry("ok:2"), _entry("")])
    assert await _count(database) == 0


async def test_read_filters_and_keeps_the_recorded_order(database: Database, clock: FrozenClock) -> None:
    await _record(database, "a", subject="customer:cus_1", type="webhook.received")
    clock.advance(60)
    await _record(database, "b", subject="customer:cus_2", type="webhook.received")
    await _record(database, "c", subject="customer:cus_1", type="mirror.noted")
    async with database.connect() as conn:
        assert [e.idempotency_key for e in await ledger.read(conn, subject="customer:cus_1")] == ["a", "c"]
        assert [e.idempotency_key for e in await ledger.read(conn, type="webhook.received")] == ["a", "b"]
        assert [e.idempotency_key for e in await ledger.read(conn, since=clock.now())] == ["b", "c"]
        assert [e.idempotency_key for e in await ledger.read(conn, limit=2)] == ["a", "b"]
        with pytest.raises(ValueError, match="limit"):
            await ledger.read(conn, limit=0)


@pytest.fixture
def upcasters() -> Iterator[ledger.UpcasterRegistry]:
    """Two steps for a test-only type on the default registry, removed afterwards."""

    @ledger.upcaster("test.widget", from_version=1)
    def _v1(data: dict[str, Any]) -> dict[str, Any]:
        return {"widget_id": data["id"], "amount": data.get("amount", 0)}

    @ledger.upcaster("test.widget", from_version=2)
    def _v2(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "currency": "usd"}

    yield ledger.default_registry
    ledger.default_registry.unregister("test.widget", 1)
    ledger.default_registry.unregister("test.widget", 2)


async def test_read_upcasts_old_versions_to_the_current_one(
    database: Database, clock: FrozenClock, upcasters: ledger.UpcasterRegistry
) -> None:
    await _record(database, "v1", type="test.widget", data={"id": "w1", "amount": 5}, schema_version=1)
    await _record(database, "v2", type="test.widget", data={"widget_id": "w2", "amount": 6}, schema_version=2)
    await _record(database, "v3", type="test.widget", data={"widget_id": "w3", "amount": 7, "currency": "eur"})
    async with database.connect() as conn:
        events = await ledger.read(conn, type="test.widget")
        raw = (await conn.execute(sa.select(ledger_events.c.schema_version).order_by(ledger_events.c.id))).all()
    assert [row[0] for row in raw] == [1, 2, 3]  # stored as written, default is the current version
    assert [(e.schema_version, e.stored_version, e.data) for e in events] == [
        (3, 1, {"widget_id": "w1", "amount": 5, "currency": "usd"}),
        (3, 2, {"widget_id": "w2", "amount": 6, "currency": "usd"}),
        (3, 3, {"widget_id": "w3", "amount": 7, "currency": "eur"}),
    ]


async def test_an_unknown_version_raises_and_emits_events_upcast_failed(
    database: Database, clock: FrozenClock, upcasters: ledger.UpcasterRegistry
) -> None:
    new_id = await _record(database, "v9", type="test.widget", data={"widget_id": "w9"}, schema_version=9)
    seen: list[tuple[str, dict[str, Any]]] = []
    remove = ops.add_sink(lambda name, meta: seen.append((name, meta)))
    try:
        async with database.connect() as conn:
            with pytest.raises(UpcastError, match=f"ledger event {new_id}"):
                await ledger.read(conn, type="test.widget")
    finally:
        remove()
    assert seen == [
        (
            "events_upcast_failed",
            {
                "event_id": new_id,
                "event_type": "test.widget",
                "schema_version": 9,
                "expected": 3,
                "reason": "unknown_version",
            },
        )
    ]


async def test_a_gapped_chain_raises_on_read(database: Database, clock: FrozenClock) -> None:
    registry = ledger.UpcasterRegistry()
    registry.register("test.gapped", 2, lambda data: data)
    await _record(database, "gap", type="test.gapped", data={}, schema_version=1)
    async with database.connect() as conn:
        with pytest.raises(UpcastError, match="gap"):
            await ledger.read(conn, registry=registry)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE remit_ledger_events SET actor = 'operator:mallory'",
        "UPDATE remit_ledger_events SET data = '{}' WHERE idempotency_key = 'keep'",
        "DELETE FROM remit_ledger_events",
        "DELETE FROM remit_ledger_events WHERE idempotency_key = 'keep'",
    ],
)
async def test_the_database_refuses_update_and_delete(database: Database, clock: FrozenClock, statement: str) -> None:
    await _record(database, "keep")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        async with database.begin() as conn:
            await conn.execute(sa.text(statement))
    async with database.connect() as conn:
        events = await ledger.read(conn)
    assert [(e.actor, e.data) for e in events] == [("processor", {"event_id": "keep", "amount": 100})]


async def test_core_update_and_delete_are_refused_too(database: Database, clock: FrozenClock) -> None:
    await _record(database, "keep")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        async with database.begin() as conn:
            await conn.execute(sa.update(ledger_events).values(subject="customer:cus_x"))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        async with database.begin() as conn:
            await conn.execute(sa.delete(ledger_events))
    assert await _count(database) == 1


@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE remit_ledger_events",
        "TRUNCATE remit_webhook_events, remit_ledger_events RESTART IDENTITY CASCADE",
    ],
)
async def test_postgresql_refuses_truncate_too(database: Database, clock: FrozenClock, statement: str) -> None:
    """Row triggers do not see TRUNCATE, and remit's role owns the table; a statement trigger refuses it, and
    with it any statement that names the ledger among other tables."""
    if database.is_sqlite:
        pytest.skip("SQLite has no TRUNCATE; its DELETE without WHERE is refused above")
    await _record(database, "keep")
    with pytest.raises(sa.exc.DBAPIError, match="append-only: TRUNCATE refused"):
        async with database.begin() as conn:
            await conn.execute(sa.text(statement))
    assert await _count(database) == 1
