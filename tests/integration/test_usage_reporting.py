"""Usage reporting on both databases: one record and one processor event per operation id (sequential and
concurrent), a rolled-back host transaction leaves nothing, an outage healed by the reconciler, a refusal and
the processor's meter error report each fail a record once, with ``meter_reporting_failed`` once per record,
429 snoozes without spending an attempt, 401 pauses ``remit_meters`` and resume heals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from remit.api.app import create_app
from remit.clock import FrozenClock
from remit.db.engine import async_url
from remit.db.tables import fake_objects, meter_events
from remit.db.tables import jobs as jobs_table
from remit.db.tables.jobs import PENDING_STATES_SQL
from remit.errors import ProcessorError
from remit.jobs.context import PeriodicContext
from remit.jobs.states import JobState
from remit.processor.errors import DUPLICATE_METER_EVENT
from remit.processor.fake import AsgiDelivery, CollectingDelivery, FakeEngine, FakeProcessor
from remit.runtime import NoRuntime, Runtime
from remit.usage import MeterEventState, UsageRefused, UsageReport, report_usage, report_usage_many
from remit.usage.meter_errors import mark_failed
from remit.usage.records import get_meter_event
from remit.usage.reporting import (
    MARK_EVERY,
    RECONCILE_AFTER,
    REPORT_JOB,
    SyncReportInTransaction,
    ensure_fake_meters,
    meter_idempotency_key,
    reconcile,
)
from tests.support.webhooks import make_runtime, webhook_settings


@pytest.fixture
async def rt(db_url: str) -> AsyncIterator[Runtime]:
    runtime = make_runtime(webhook_settings(db_url, REMIT_METERS="api_requests:sum,storage_gb=storage:sum:3"))
    fake(runtime).delivery = CollectingDelivery()
    yield runtime
    await runtime.close()


def fake(rt: Runtime) -> FakeEngine:
    assert isinstance(rt.processor, FakeProcessor)
    return rt.processor.engine


def clock(rt: Runtime) -> FrozenClock:
    assert isinstance(rt.clock, FrozenClock)
    return rt.clock


async def customer(rt: Runtime) -> str:
    created = await rt.processor.create_customer(idempotency_key=f"cus-{id(rt)}")
    return str(created["id"])


async def processor_meter_events(rt: Runtime) -> list[dict[str, Any]]:
    async with rt.db.connect() as conn:
        rows = await conn.execute(sa.select(fake_objects.c.data).where(fake_objects.c.object == "billing.meter_event"))
        return [dict(row.data) for row in rows]


async def stored(rt: Runtime) -> int:
    async with rt.db.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(meter_events))).scalar_one())


async def record(rt: Runtime, operation_id: str) -> Any:
    async with rt.db.connect() as conn:
        found = await get_meter_event(conn, operation_id)
    assert found is not None
    return found


async def test_a_repeated_operation_id_is_one_record_and_one_processor_event(rt: Runtime) -> None:
    cus = await customer(rt)
    async with rt.db.begin() as conn:
        first = await report_usage(conn, cus, "api_requests", 40, operation_id="op-1")
    async with rt.db.begin() as conn:
        again = await report_usage(conn, cus, "api_requests", 40, operation_id="op-1")
    assert first.created
    assert not again.created
    assert again.record.id == first.record.id
    assert await stored(rt) == 1
    await rt.drain()
    async with rt.db.begin() as conn:
        await report_usage(conn, cus, "api_requests", 40, operation_id="op-1")
    await rt.drain()
    events = await processor_meter_events(rt)
    assert len(events) == 1
    assert events[0]["identifier"] == "op-1"
    assert events[0]["payload"] == {"stripe_customer_id": cus, "value": "40"}
    assert (await record(rt, "op-1")).state is MeterEventState.REPORTED


async def test_an_operation_id_a_host_used_as_a_processor_idempotency_key_is_still_reported(rt: Runtime) -> None:
    """The meter event's idempotency key is the operation id in remit's namespace: a host that used
    ``demo-7-1`` as the key of another processor call can use it as an operation id too."""
    cus = await customer(rt)
    await rt.processor.create_customer(idempotency_key="demo-7-1")
    async with rt.db.begin() as conn:
        await report_usage(conn, cus, "api_requests", 3, operation_id="demo-7-1")
    await rt.drain()
    assert (await record(rt, "demo-7-1")).state is MeterEventState.REPORTED
    events = await processor_meter_events(rt)
    assert [(e["identifier"], e["payload"]["value"]) for e in events] == [("demo-7-1", "3")]


async def test_an_identifier_the_processor_counted_already_marks_the_record_reported_not_failed(
    rt: Runtime, ops_events: list[tuple[str, dict[str, Any]]]
) -> None:
    """Sent once under another key (an older remit used the bare operation id) and never recorded: the resend
    is refused by identifier, as Stripe refuses it, and the record is reported; the processor counts it once."""
    cus = await customer(rt)
    await ensure_fake_meters(rt)
    await rt.processor.create_meter_event(
        event_name="api_requests",
        payload={"stripe_customer_id": cus, "value": "4"},
        identifier="op-sent",
        idempotency_key="op-sent",
    )
    async with rt.db.begin() as conn:
        await report_usage(conn, cus, "api_requests", 4, operation_id="op-sent")
    await rt.drain()
    assert (await record(rt, "op-sent")).state is MeterEventState.REPORTED
    assert [e["identifier"] for e in await processor_meter_events(rt)] == ["op-sent"]
    assert "meter_reporting_failed" not in [name for name, _ in ops_events]


async def test_the_fake_refuses_a_repeated_identifier_under_another_key_and_replays_the_same_key(
    rt: Runtime,
) -> None:
    cus = await customer(rt)
    await ensure_fake_meters(rt)
    params: dict[str, Any] = {"event_name": "api_requests", "payload": {"stripe_customer_id": cus, "value": "1"}}
    first = await rt.processor.create_meter_event(
        **params, identifier="op-x", idempotency_key=meter_idempotency_key("op-x")
    )
    again = await rt.processor.create_meter_event(
        **params, identifier="op-x", idempotency_key=meter_idempotency_key("op-x")
    )
    assert again == first
    with pytest.raises(ProcessorError) as refused:
        await rt.processor.create_meter_event(**params, identifier="op-x", idempotency_key="another-key")
    assert (refused.value.status_code, refused.value.code) == (400, DUPLICATE_METER_EVENT)
    assert "op-x" not in str(refused.value)  # the processor's text stays out of remit's messages
    assert len(await processor_meter_events(rt)) == 1


async def test_twenty_concurrent_reports_of_one_operation_id_store_one_record(rt: Runtime) -> None:
    cus = await customer(rt)

    async def one() -> bool:
        async with rt.db.begin() as conn:
            return (await report_usage(conn, cus, "api_requests", 1, operation_id="op-race")).created

    created = await asyncio.gather(*(one() for _ in range(20)))
    assert sum(created) == 1
    assert await stored(rt) == 1
    await rt.drain()
    assert len(await processor_meter_events(rt)) == 1


async def test_a_rolled_back_host_transaction_leaves_no_record_and_no_job(rt: Runtime) -> None:
    cus = await customer(rt)
    with pytest.raises(RuntimeError):
        async with rt.db.begin() as conn:
            await report_usage(conn, cus, "api_requests", 5, operation_id="op-rollback")
            raise RuntimeError("the host's own work failed")
    assert await stored(rt) == 0
    assert sum((await rt.drain()).values()) == 0
    assert await processor_meter_events(rt) == []


async def test_a_report_job_marks_what_it_sent_as_it_goes(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """A big batch is not all ``pending`` until its last event is sent: every MARK_EVERY records are marked
    ``reported`` on the way (what the load test's progress and the lag gauges see)."""
    cus = await customer(rt)
    await ensure_fake_meters(rt)
    total = MARK_EVERY * 2 + 50
    async with rt.db.begin() as conn:
        await report_usage_many(conn, [UsageReport(cus, "api_requests", 1, f"op-many-{i}") for i in range(total)])
    create = rt.processor.create_meter_event
    seen: list[int] = []

    async def watching(**kwargs: Any) -> Any:
        async with rt.db.connect() as conn:
            query = sa.select(sa.func.count()).where(meter_events.c.state == MeterEventState.REPORTED.value)
            seen.append(int((await conn.execute(query)).scalar_one()))
        return await create(**kwargs)

    monkeypatch.setattr(rt.processor, "create_meter_event", watching)
    await rt.drain()
    assert len(seen) == total
    assert seen[0] == 0
    assert seen[MARK_EVERY] == MARK_EVERY  # the first hundred were marked before the 101st was sent
    assert seen[-1] == 2 * MARK_EVERY
    async with rt.db.connect() as conn:
        states = await conn.execute(sa.select(meter_events.c.state, sa.func.count()).group_by(meter_events.c.state))
        assert {str(state): int(n) for state, n in states} == {"reported": total}
    assert len(await processor_meter_events(rt)) == total


async def test_invalid_reports_are_refused_before_anything_is_written(rt: Runtime) -> None:
    now = rt.clock.now()
    cases = [
        (UsageReport("cus_1", "nope", 1, "op-a"), "meter"),
        (UsageReport("cus_1", "api_requests", -1, "op-b"), "value"),
        (UsageReport("cus_1", "api_requests", "1.5", "op-c"), "value"),
        (UsageReport("cus_1", "storage_gb", "1.0001", "op-d"), "value"),
        (UsageReport("cus_1", "api_requests", 1, "op-e", now - timedelta(days=36)), "timestamp"),
        (UsageReport("cus_1", "api_requests", 1, "op-f", now + timedelta(minutes=6)), "timestamp"),
        (UsageReport("", "api_requests", 1, "op-g"), "customer"),
        (UsageReport("cus_1", "api_requests", 1, ""), "operation_id"),
    ]
    for report, field in cases:
        with pytest.raises(UsageRefused) as refused:
            async with rt.db.begin() as conn:
                await report_usage_many(conn, [UsageReport("cus_1", "api_requests", 1, "op-ok"), report])
        assert refused.value.field == field
    assert await stored(rt) == 0


async def test_decimal_meters_store_exact_units_and_report_the_decimal(rt: Runtime) -> None:
    cus = await customer(rt)
    async with rt.db.begin() as conn:
        outcome = await report_usage(conn, cus, "storage_gb", "2.125", operation_id="op-dec")
    assert outcome.record.value == 2125
    await rt.drain()
    (event,) = await processor_meter_events(rt)
    assert event["event_name"] == "storage"
    assert event["payload"]["value"] == "2.125"


async def test_an_outage_leaves_records_pending_and_the_reconciler_heals_it(
    rt: Runtime, ops_events: list[tuple[str, dict[str, Any]]]
) -> None:
    cus = await customer(rt)
    await ensure_fake_meters(rt)  # so the scripted failures meet the meter events themselves
    await fake(rt).fail_next("500", count=3, method="billing.meter_events.create")
    async with rt.db.begin() as conn:
        await report_usage(conn, cus, "api_requests", 3, operation_id="op-outage")
    for _ in range(3):
        await rt.drain()
        clock(rt).advance(200)
    assert (await record(rt, "op-outage")).state is MeterEventState.PENDING
    assert (await record(rt, "op-outage")).attempts == 3
    clock(rt).advance(RECONCILE_AFTER)
    counts = await reconcile(_periodic(rt))
    assert counts == {"pending": 1, "jobs": 1, "busy": 0}
    await rt.drain()
    assert (await record(rt, "op-outage")).state is MeterEventState.REPORTED
    assert len(await processor_meter_events(rt)) == 1
    assert [name for name, _ in ops_events if name == "meter_reporting_failed"] == []


async def test_a_long_outage_does_not_pile_reconciler_jobs(rt: Runtime) -> None:
    """Each reconciler slot has at most one pending job: while an outage keeps a slot's job retrying, later
    runs queue nothing new for it (without the slot keys every run would add two more jobs); once the outage
    ends, what is still pending is resent and counted once."""
    cus = await customer(rt)
    await ensure_fake_meters(rt)
    async with rt.db.begin() as conn:
        await report_usage_many(conn, [UsageReport(cus, "api_requests", 1, f"op-pile-{i}") for i in range(150)])
    async with rt.db.begin() as conn:  # the host's own report job is not what this test is about
        await conn.execute(sa.delete(jobs_table).where(jobs_table.c.queue == "remit_meters"))
    clock(rt).advance(RECONCILE_AFTER + timedelta(seconds=1))
    await fake(rt).fail_next("500", count=10_000, method="billing.meter_events.create")
    assert await reconcile(_periodic(rt)) == {"pending": 150, "jobs": 2, "busy": 0}
    busy_runs = 0
    for _ in range(6):  # the outage lasts: the slot jobs fail and wait to retry while the reconciler runs on
        await rt.drain(["remit_meters"])
        clock(rt).advance(20)
        busy_runs += (await reconcile(_periodic(rt)))["busy"] > 0
        assert await _pending_reconciler_jobs(rt) <= 2
    assert busy_runs > 0
    await fake(rt).clear_failures()
    for _ in range(5):
        clock(rt).advance(200)
        await reconcile(_periodic(rt))
        await rt.drain(["remit_meters"])
    assert await _pending_reconciler_jobs(rt) == 0
    async with rt.db.connect() as conn:
        states = (await conn.execute(sa.select(meter_events.c.state).distinct())).scalars().all()
    assert states == [MeterEventState.REPORTED.value]
    assert len(await processor_meter_events(rt)) == 150


async def _pending_reconciler_jobs(rt: Runtime) -> int:
    query = sa.select(sa.func.count()).where(jobs_table.c.name == REPORT_JOB, sa.text(PENDING_STATES_SQL))
    async with rt.db.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


def _periodic(rt: Runtime) -> Any:
    return PeriodicContext(task="meters.reconcile", tick=rt.clock.now(), engine=rt.engine, app=rt)


async def test_the_processors_error_report_fails_the_record_once(
    rt: Runtime, ops_events: list[tuple[str, dict[str, Any]]]
) -> None:
    """An unknown customer: the fake accepts the event, then sends its thin error report to remit's own
    receiver; dispatching it fetches the full event and fails the record its identifier names — once, however
    often the report is applied again."""
    fake(rt).delivery = AsgiDelivery(create_app(rt), rt.settings.webhook_path)
    async with rt.db.begin() as conn:
        await report_usage(conn, "cus_unknown", "api_requests", 7, operation_id="op-unknown-customer")
    await rt.drain()
    failed = await record(rt, "op-unknown-customer")
    assert failed.state is MeterEventState.FAILED
    assert (failed.error_code, failed.failed_source) == ("meter_event_customer_not_found", "webhook")
    assert await mark_failed(rt, "evt_again", {"op-unknown-customer": "x", "op-nobody": "y"}) == {
        "named": 2,
        "failed": 0,
        "unknown": 1,
    }
    emitted = [meta for name, meta in ops_events if name == "meter_reporting_failed"]
    assert emitted == [
        {
            "source": "webhook",
            "meter_event_id": failed.id,
            "operation_id": "op-unknown-customer",
            "meter": "api_requests",
            "customer_id": "cus_unknown",
            "code": "meter_event_customer_not_found",
        }
    ]


async def test_the_classic_form_of_the_error_report_is_applied_without_a_fetch(rt: Runtime) -> None:
    from remit.usage.meter_errors import classic_report, failed_identifiers

    payload = {
        "object": "event",
        "data": {
            "object": {
                "reason": {
                    "error_types": [
                        {"code": "meter_event_invalid_value", "sample_errors": [{"request": {"identifier": "op-c"}}]}
                    ]
                }
            }
        },
    }
    assert failed_identifiers(classic_report(payload)) == {"op-c": "meter_event_invalid_value"}


async def test_a_refusal_fails_the_record_once_with_source_sync(
    rt: Runtime, ops_events: list[tuple[str, dict[str, Any]]]
) -> None:
    cus = await customer(rt)
    # the processor refuses what remit's window check let through: its clock is 36 days ahead of remit's
    await fake(rt).advance_clock(36 * 86400, deliver=False)
    async with rt.db.connect() as conn:  # no transaction open: the record commits at once, then is sent
        outcome = await report_usage(conn, cus, "api_requests", 1, operation_id="op-refused", sync=True)
    assert outcome.record.state is MeterEventState.FAILED
    assert (outcome.record.failed_source, outcome.record.error_code) == ("sync", "invalid_request_error")
    async with rt.db.connect() as conn:
        again = await report_usage(conn, cus, "api_requests", 1, operation_id="op-refused", sync=True)
    assert not again.created
    assert again.record.state is MeterEventState.FAILED
    assert [n for n, _ in ops_events].count("meter_reporting_failed") == 1


async def test_sync_inside_an_open_transaction_is_refused_and_writes_nothing(rt: Runtime) -> None:
    cus = await customer(rt)
    async with rt.db.begin() as conn:
        with pytest.raises(SyncReportInTransaction):
            await report_usage(conn, cus, "api_requests", 1, operation_id="op-sync-in-tx", sync=True)
    assert await stored(rt) == 0


async def test_a_connection_no_runtime_handed_out_is_refused_clearly(rt: Runtime) -> None:
    """The runtime is found on the caller's connection; a host's own engine has none, and says so."""
    foreign = create_async_engine(async_url(rt.db.url), poolclass=sa.pool.NullPool)
    try:
        async with foreign.begin() as conn:
            with pytest.raises(NoRuntime, match=r"runtime\.db\.begin\(\)"):
                await report_usage(conn, "cus_1", "api_requests", 1, operation_id="op-foreign")
    finally:
        await foreign.dispose()
    assert await stored(rt) == 0


async def test_429_snoozes_without_spending_an_attempt(rt: Runtime) -> None:
    cus = await customer(rt)
    await ensure_fake_meters(rt)
    await fake(rt).fail_next("429", retry_after=3, method="billing.meter_events.create")
    async with rt.db.begin() as conn:
        await report_usage(conn, cus, "api_requests", 1, operation_id="op-429")
    outcomes = await rt.drain()
    assert outcomes["snoozed"] == 1
    (job,) = await rt.engine.list_jobs(queue="remit_meters", name="remit.usage.report")
    assert job.state is JobState.SCHEDULED
    assert (job.attempt, job.max_attempts) == (1, 4)  # the attempt was given back
    clock(rt).advance(5)
    await rt.drain()
    assert (await record(rt, "op-429")).state is MeterEventState.REPORTED


async def test_401_pauses_remit_meters_once_and_resume_heals(
    rt: Runtime, ops_events: list[tuple[str, dict[str, Any]]]
) -> None:
    from remit.processor.credentials import resume_queue

    cus = await customer(rt)
    await ensure_fake_meters(rt)
    await fake(rt).fail_next("401", method="billing.meter_events.create")
    async with rt.db.begin() as conn:
        await report_usage(conn, cus, "api_requests", 1, operation_id="op-401a")
        await report_usage(conn, cus, "api_requests", 1, operation_id="op-401b")
    await rt.drain()
    paused = {stats.name for stats in await rt.engine.queue_stats() if stats.paused}
    assert "remit_meters" in paused
    assert [n for n, _ in ops_events].count("processor_credentials_expired") == 1
    assert (await record(rt, "op-401a")).state is MeterEventState.PENDING
    await resume_queue(rt.engine, rt.processor.name, "remit_meters", actor="test")
    clock(rt).advance(10)
    await rt.drain()
    assert (await record(rt, "op-401a")).state is MeterEventState.REPORTED
    assert (await record(rt, "op-401b")).state is MeterEventState.REPORTED
    assert len(await processor_meter_events(rt)) == 2


async def test_a_connection_with_no_transaction_open_commits_the_record_at_once(rt: Runtime) -> None:
    """``runtime.db.connect()`` opens no transaction: the record and its report job commit before
    ``report_usage`` returns, never left in a transaction nobody commits (closing would roll them back)."""
    cus = await customer(rt)
    async with rt.db.connect() as conn:
        outcome = await report_usage(conn, cus, "api_requests", 3, operation_id="op-no-tx")
        assert outcome.created
        assert not conn.in_transaction()
    assert await stored(rt) == 1
    async with rt.db.connect() as conn:
        query = sa.select(sa.func.count()).select_from(jobs_table).where(jobs_table.c.name == REPORT_JOB)
        assert (await conn.execute(query)).scalar_one() == 1
