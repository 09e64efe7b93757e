"""The hand-off against a real HTTP orchestrator stand-in on loopback, with remit's own app served over HTTP for
its callback: the happy path; an orchestrator down through every attempt (stuck, the ops event), then back,
re-armed and reconciled; two concurrent reconciler runs that never re-drive one job twice; NULL payloads
skipped and counted; the cron endpoint's guard."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx

from remit.api.app import create_app
from remit.audit import entries
from remit.clock import FrozenClock
from remit.provisioning import jobs_table
from remit.provisioning.operator import rearm
from remit.provisioning.orchestrator import StandInOrchestrator, deployment_for
from remit.provisioning.reconciler import reconcile
from remit.runtime import Runtime
from tests.support.orchestrator import CALLBACK_SECRET, TRIGGER_SECRET, orchestrator, serve
from tests.support.provisioning import account, checkout_event, provisioning_rows
from tests.support.webhooks import client_for, make_runtime, post_event, webhook_settings


@asynccontextmanager
async def loop(db_url: str, **options: Any) -> AsyncIterator[tuple[Runtime, StandInOrchestrator]]:
    async with orchestrator(**options) as (stand_in, trigger_url):
        settings = webhook_settings(
            db_url,
            PROVISIONING_TRIGGER_URL=trigger_url,
            PROVISIONING_TRIGGER_SECRET=TRIGGER_SECRET,
            PROVISIONING_CALLBACK_SECRET=CALLBACK_SECRET,
            CRON_SECRET="cron-test-secret",
        )
        runtime = make_runtime(settings)
        try:
            async with serve(create_app(runtime)) as base:
                stand_in.callback_url = base + "/api/internal/provisioning/callback"
                yield runtime, stand_in
        finally:
            await runtime.close()


async def _pay(runtime: Runtime, *sessions: str) -> None:
    async with client_for(runtime) as client:
        for session in sessions:
            document = checkout_event(session_id=session, account_id=f"acct_{session}", package="starter")
            assert (await post_event(client, runtime, document)).status_code == 200
    await runtime.drain(["remit_webhooks"])


def _later(runtime: Runtime, minutes: float) -> None:
    assert isinstance(runtime.clock, FrozenClock)
    runtime.clock.advance(timedelta(minutes=minutes))


async def _stuck(runtime: Runtime) -> int:
    async with runtime.db.connect() as conn:
        return await jobs_table.count_stuck(conn, runtime.clock.now(), stuck_seconds=900, max_attempts=8)


async def test_a_paid_checkout_is_triggered_signed_called_back_and_the_account_activated(db_url: str) -> None:
    async with loop(db_url) as (runtime, stand_in):
        await _pay(runtime, "cs_loop_happy")
        await runtime.drain(["remit_provisioning"])
        await stand_in.settle()
        assert stand_in.callbacks == [200]
        [payload] = stand_in.received
        assert payload["stripe_session_id"] == "cs_loop_happy"
        assert payload["tokens_quota"] == 100_000
        [job] = await provisioning_rows(runtime)
        assert job.status == "provisioned"
        assert job.attempts == 1
        assert job.deployment_id == deployment_for("cs_loop_happy")
        acct = await account(runtime, "acct_cs_loop_happy")
        assert acct is not None
        assert acct["status"] == "active"
        assert acct["deployment_id"] == job.deployment_id
        assert acct["tokens_quota"] == 100_000
        assert await _stuck(runtime) == 0


async def test_orchestrator_down_for_every_attempt_then_back_rearmed_and_reconciled(
    db_url: str, ops_events: list[tuple[str, dict[str, Any]]]
) -> None:
    async with loop(db_url, fail_status=503) as (runtime, stand_in):
        await _pay(runtime, "cs_loop_down")
        await runtime.drain(["remit_provisioning"])  # the trigger job's first run: 503
        [job] = await provisioning_rows(runtime)
        assert (job.attempts, job.last_error, job.status) == (1, "http_5xx", "enqueued")
        for _ in range(7):
            _later(runtime, 6)
            summary = await reconcile(runtime)
            assert summary["still_failing"] == 1
        [job] = await provisioning_rows(runtime)
        assert job.attempts == 8
        assert await _stuck(runtime) == 1
        assert [e for e, meta in ops_events if e == "provisioning_failed" and meta["reason"] == "attempts_exhausted"]
        _later(runtime, 6)
        assert (await reconcile(runtime))["scanned"] == 0  # at the cap: never re-driven on its own
        stand_in.fail_status = None
        outcome = await rearm(runtime, job.id, actor="operator:test")
        assert outcome.job.attempts == 0
        _later(runtime, 6)
        summary = await reconcile(runtime)
        assert (summary["redriven"], summary["still_failing"]) == (1, 0)
        await stand_in.settle()
        [job] = await provisioning_rows(runtime)
        assert job.status == "provisioned"
        assert await _stuck(runtime) == 0
        async with runtime.db.connect() as conn:
            audit = await entries(conn, subjects=[f"provisioning_job:{job.id}"])
        assert [a.action for a in audit] == ["provisioning.rearm"]


async def test_two_concurrent_reconciler_runs_never_redrive_one_job_twice(db_url: str) -> None:
    async with loop(db_url, call_back=False) as (runtime, stand_in):
        sessions = [f"cs_loop_many_{i:02d}" for i in range(30)]
        await _pay(runtime, *sessions)
        _later(runtime, 6)
        first, second = await asyncio.gather(reconcile(runtime), reconcile(runtime))
        assert first["redriven"] + second["redriven"] == 30  # two batches of 25 at most, no overlap
        ids = [p["stripe_session_id"] for p in stand_in.received]
        assert sorted(ids) == sorted(sessions)
        assert {job.attempts for job in await provisioning_rows(runtime)} == {1}


async def test_null_payload_rows_are_skipped_and_counted(db_url: str) -> None:
    async with loop(db_url) as (runtime, stand_in):
        async with client_for(runtime) as client:
            document = checkout_event(session_id="cs_loop_null", package="nonexistent")
            assert (await post_event(client, runtime, document)).status_code == 200
        await runtime.drain()
        _later(runtime, 20)
        summary = await reconcile(runtime)
        assert summary["skipped_no_payload"] == 1
        assert summary["redriven"] == 0
        assert stand_in.attempts == 0
        assert summary["stuck_total"] == 1


async def test_the_cron_endpoint_runs_the_reconciler_only_with_the_secret(db_url: str) -> None:
    async with loop(db_url) as (runtime, _stand_in), client_for(runtime) as client:
        path = "/api/cron/reconcile-provisioning"
        assert (await client.post(path)).status_code == 401
        assert (await client.post(path, headers={"x-cron-secret": "wrong"})).status_code == 401
        answer = await client.post(path, headers={"x-cron-secret": "cron-test-secret"})
        assert answer.status_code == 200
        assert answer.json()["event"] == "provisioning.reconcile.run"


async def test_without_a_trigger_the_job_waits_with_trigger_not_configured(rt: Runtime) -> None:
    async with client_for(rt) as client:
        assert (await post_event(client, rt, checkout_event(session_id="cs_no_trigger"))).status_code == 200
    await rt.drain()
    [job] = await provisioning_rows(rt)
    assert (job.status, job.attempts, job.last_error) == ("enqueued", 1, "trigger_not_configured")
    async with client_for(rt) as client:
        assert (await client.post("/api/cron/reconcile-provisioning")).status_code == 503
    assert isinstance(httpx, object)
