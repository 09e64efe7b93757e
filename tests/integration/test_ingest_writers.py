"""The two event writers: the same rows either way; batches, duplicates inside a batch, one bad row in a batch."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa

from remit.db.tables import jobs, webhook_events
from remit.db.tables.ledger import ledger_events
from remit.runtime import Runtime
from remit.webhooks.envelope import parse_envelope
from remit.webhooks.rows import event_row
from remit.webhooks.writers import PostgresWriter, TransactionWriter, writer_for
from tests.support.webhooks import count, make_runtime, webhook_settings

BODY = (
    '{"id": "evt_template", "object": "event", "type": "invoice.paid", "created": 1700000000, '
    '"data": {"object": {"id": "in_w", "object": "invoice", "description": "caf\\u00e9 \\u2603 €"}}}'
)


def _row(runtime: Runtime, event_id: str | None = None, body: str = BODY, *, held: bool = False) -> dict[str, Any]:
    envelope = replace(parse_envelope(body), event_id=event_id or f"evt_{uuid.uuid4().hex}")
    return event_row(runtime, "default", envelope, body, runtime.clock.now(), held=held)


def _postgres_only(runtime: Runtime) -> None:
    if not runtime.db.is_postgres:
        pytest.skip("the batching writer is PostgreSQL's")


async def _stored(runtime: Runtime, row_id: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    async with runtime.db.connect() as conn:
        ev = (await conn.execute(sa.select(webhook_events).where(webhook_events.c.id == row_id))).mappings().one()
        job = (
            (await conn.execute(sa.select(jobs).where(jobs.c.args["webhook_event_id"].as_integer() == row_id)))
            .mappings()
            .one()
        )
        entry = (
            (
                await conn.execute(
                    sa.select(ledger_events)
                    .where(ledger_events.c.subject == "invoice:in_w")
                    .where(ledger_events.c.data["webhook_event_id"].as_integer() == row_id)
                )
            )
            .mappings()
            .one()
        )
    return dict(ev), dict(job), dict(entry)


def _comparable(row: dict[str, Any], *ignore: str) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key not in {"id", *ignore}}


async def test_both_writers_write_the_same_rows(rt: Runtime) -> None:
    _postgres_only(rt)
    fast = writer_for(rt)
    assert isinstance(fast, PostgresWriter)
    try:
        first = await TransactionWriter().store(rt, _row(rt, "evt_generic"))
        second = await fast.store(rt, _row(rt, "evt_batched"))
    finally:
        await fast.close()
    assert first is not None
    assert second is not None
    ev1, job1, led1 = await _stored(rt, first)
    ev2, job2, led2 = await _stored(rt, second)
    assert ev2["body"] == BODY  # byte for byte, multi-byte characters included
    assert _comparable(ev1, "event_id") == _comparable(ev2, "event_id")
    assert _comparable(job1, "args", "unique_key") == _comparable(job2, "args", "unique_key")
    assert job2["unique_key"] == f"remit.webhooks.dispatch:{second}"
    assert _comparable(led1, "data", "idempotency_key", "recorded_at") == _comparable(
        led2, "data", "idempotency_key", "recorded_at"
    )
    assert {k: v for k, v in led1["data"].items() if k not in ("event_id", "webhook_event_id")} == {
        k: v for k, v in led2["data"].items() if k not in ("event_id", "webhook_event_id")
    }
    assert led2["idempotency_key"] == "webhook.received:fake:evt_batched"


async def test_a_batch_with_a_repeated_event_stores_it_once(rt: Runtime) -> None:
    _postgres_only(rt)
    writer = writer_for(rt)
    rows = [_row(rt, "evt_same") for _ in range(5)] + [_row(rt) for _ in range(5)]
    try:
        results = await asyncio.gather(*(writer.store(rt, row) for row in rows))
    finally:
        await writer.close()
    assert sum(1 for r in results[:5] if r is not None) == 1
    assert all(r is not None for r in results[5:])
    assert len(set(results) - {None}) == 6
    assert await count(rt, webhook_events) == 6
    assert await count(rt, jobs) == 6
    assert await count(rt, ledger_events) == 6


async def test_one_bad_row_does_not_fail_its_batch(rt: Runtime) -> None:
    _postgres_only(rt)
    writer = writer_for(rt)
    good = [_row(rt) for _ in range(4)]
    bad = _row(rt)
    bad["event_id"] = "evt_" + "x" * 300  # longer than the column: the database refuses the row
    try:
        results = await asyncio.gather(
            *(writer.store(rt, row) for row in [*good[:2], bad, *good[2:]]), return_exceptions=True
        )
    finally:
        await writer.close()
    assert isinstance(results[2], Exception)
    assert all(isinstance(r, int) for i, r in enumerate(results) if i != 2)
    assert await count(rt, webhook_events) == 4


async def test_a_redelivery_after_the_first_committed_is_a_duplicate(rt: Runtime) -> None:
    writer = writer_for(rt)
    row = _row(rt, "evt_twice")
    try:
        first = await writer.store(rt, row)
        again = await writer.store(rt, dict(row))
    finally:
        await writer.close()
    assert first is not None
    assert again is None
    assert await count(rt, jobs) == 1


async def test_many_concurrent_deliveries_all_land(rt: Runtime) -> None:
    writer = writer_for(rt)
    rows = [_row(rt) for _ in range(120)]
    try:
        results = await asyncio.gather(*(writer.store(rt, row) for row in rows))
    finally:
        await writer.close()
    assert len(set(results)) == 120
    assert await count(rt, webhook_events) == 120
    assert await count(rt, ledger_events) == 120


async def test_held_rows_get_no_job(db_url: str) -> None:
    runtime = make_runtime(webhook_settings(db_url))
    writer = writer_for(runtime)
    try:
        assert await writer.store(runtime, _row(runtime, held=True)) is not None
        assert await count(runtime, jobs) == 0
        assert await count(runtime, ledger_events) == 1
    finally:
        await writer.close()
        await runtime.close()
