"""The series the alerts in ``deploy/prometheus/alerts.yml`` read, scraped from ``GET /metrics`` after the
condition each alert watches really happened — on SQLite and PostgreSQL.

promtool's tests (tests/unit/test_alert_rules.py) prove each rule fires on the series it is given; these prove
remit gives it those series: a dead letter sets the last-dead-letter time, a webhook event waiting ages the
oldest pending one, a paused queue's due job ages its queue, billing switched off, an emergency stop and
expired processor credentials each flip their gauge — and flip it back; failed and waiting usage records and an
exhausted dunning case are counted from their rows.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from remit.control.stop import start_all, stop_all
from remit.control.switches import switch
from remit.db.tables import dunning_cases, meter_events
from remit.errors import ProcessorError
from remit.processor import credentials
from remit.runtime import Runtime
from remit.webhooks.handlers import HandlerContext
from tests.support import jobs as J
from tests.support.webhooks import client_for, event, post_event

#: Every scrape collects (no background refresher interval), and every read of the flags asks the database.
pytestmark = pytest.mark.webhook_settings(
    REMIT_WEBHOOK_MAX_ATTEMPTS="1", REMIT_FLAGS_REFRESH_SECONDS="0", REMIT_METRICS_REFRESH_SECONDS="0"
)

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient) -> Series:
    """Every sample ``GET /metrics`` serves, by name and labels."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(series: Series, name: str, **labels: str) -> float | None:
    return series.get((name, frozenset(labels.items())))


async def test_a_waiting_event_a_paused_queue_and_a_dead_letter_set_the_series_their_alerts_read(
    rt: Runtime,
) -> None:
    clock = rt.clock

    async def broken(ctx: HandlerContext) -> None:
        raise RuntimeError("bug in host handler")

    rt.handlers.register("invoice.*", broken, name="test.broken")
    async with client_for(rt) as client:
        quiet = await scrape(client)
        assert value(quiet, "remit_webhook_oldest_pending_age_seconds") == 0
        assert value(quiet, "remit_webhook_last_dead_letter_timestamp_seconds") == 0

        await rt.engine.pause("remit_webhooks", actor="operator:test")
        assert (await post_event(client, rt, event("invoice.paid"))).status_code == 200
        received = clock.now()
        clock.advance(1000)  # RemitWebhookEventsWaiting: > 900 s; RemitQueueJobsWaiting: > 600 s
        waiting = await scrape(client)
        assert value(waiting, "remit_webhook_oldest_pending_age_seconds") == 1000
        assert value(waiting, "remit_webhook_events", status="received", type="invoice.paid") == 1
        assert value(waiting, "remit_queue_paused", queue="remit_webhooks") == 1
        assert value(waiting, "remit_queue_jobs", queue="remit_webhooks", state="available") == 1
        assert value(waiting, "remit_queue_oldest_available_age_seconds", queue="remit_webhooks") == pytest.approx(
            1000, abs=1
        )

        await rt.engine.resume("remit_webhooks", actor="operator:test")
        await rt.drain(["remit_webhooks"])  # the handler fails, one attempt allowed: a dead letter
        dead = await scrape(client)
        assert value(dead, "remit_webhook_events", status="dead", type="invoice.paid") == 1
        assert value(dead, "remit_webhook_oldest_pending_age_seconds") == 0
        assert value(dead, "remit_queue_paused", queue="remit_webhooks") == 0
        stamp = value(dead, "remit_webhook_last_dead_letter_timestamp_seconds")
        assert stamp is not None
        assert received.timestamp() + 1000 <= stamp <= clock.now().timestamp()


async def test_billing_off_an_emergency_stop_and_expired_credentials_flip_their_gauges_and_back(rt: Runtime) -> None:
    rt.engine.registry.add(J.noop)
    async with client_for(rt) as client:
        before = await scrape(client)
        assert value(before, "remit_flag_enabled", flag="billing") == 1
        assert value(before, "remit_emergency_stop") == 0
        assert value(before, "remit_processor_credentials_expired") == 0

        await switch(rt, "billing", False, actor="operator:test")
        await stop_all(rt, actor="operator:test")
        async with rt.db.begin() as conn:
            job_id = await rt.engine.enqueue(conn, J.noop, {}, queue="remit_meters")
        job = await rt.engine.get(job_id)
        assert job is not None
        refused = ProcessorError("the key was refused", status_code=401, code="api_key_expired")
        assert await credentials.mark_expired(
            rt.engine, processor=rt.processor.name, error=refused, job=job, queues=["remit_meters"]
        )
        during = await scrape(client)
        assert value(during, "remit_flag_enabled", flag="billing") == 0  # RemitBillingSwitchedOff
        assert value(during, "remit_emergency_stop") == 1  # RemitEmergencyStop
        assert value(during, "remit_emergency_stop_since_timestamp_seconds") == rt.clock.now().timestamp()
        assert value(during, "remit_processor_credentials_expired") == 1  # RemitProcessorCredentialsExpired

        await switch(rt, "billing", True, actor="operator:test")
        await start_all(rt, actor="operator:test")
        await credentials.resume_queue(rt.engine, rt.processor.name, "remit_meters", actor="operator:test")
        after = await scrape(client)
        assert value(after, "remit_flag_enabled", flag="billing") == 1
        assert value(after, "remit_emergency_stop") == 0
        assert value(after, "remit_emergency_stop_since_timestamp_seconds") == 0
        assert value(after, "remit_processor_credentials_expired") == 0


async def test_failed_and_waiting_usage_records_and_an_exhausted_dunning_case_set_their_series(rt: Runtime) -> None:
    now = rt.clock.now()
    async with client_for(rt) as client:
        before = await scrape(client)
        assert value(before, "remit_meter_events", status="failed") == 0
        assert value(before, "remit_meter_oldest_pending_age_seconds") == 0
        assert value(before, "remit_dunning_cases", state="exhausted") == 0

        record = {"customer_id": "cus_g", "meter": "api_calls", "value": 1, "timestamp": now, "hour": now}
        waiting = now - timedelta(seconds=1200)
        async with rt.db.begin() as conn:
            await conn.execute(
                sa.insert(meter_events),
                [
                    {**record, "operation_id": "op-failed", "state": "failed", "attempts": 1, "error_code": "x"}
                    | {"failed_source": "sync", "created_at": now, "updated_at": now},
                    {**record, "operation_id": "op-waiting", "state": "pending", "attempts": 0, "error_code": None}
                    | {"failed_source": None, "created_at": waiting, "updated_at": waiting},
                ],
            )
            await conn.execute(
                sa.insert(dunning_cases).values(
                    subscription_id="sub_g",
                    customer_id="cus_g",
                    state="exhausted",
                    past_due_since=now - timedelta(days=20),
                    grace_until=now - timedelta(days=6),
                    attempts=1,
                    exhausted_at=now,
                    updated_at=now,
                )
            )
        after = await scrape(client)
        assert value(after, "remit_meter_events", status="failed") == 1  # RemitMeterReportingFailed
        assert value(after, "remit_meter_events", status="pending") == 1
        assert value(after, "remit_meter_oldest_pending_age_seconds") == 1200  # RemitMeterReportingStalled: > 900
        assert value(after, "remit_dunning_cases", state="exhausted") == 1  # RemitDunningExhausted
