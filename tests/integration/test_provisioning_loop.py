"""The hand-off against a real HTTP orchestrator stand-in on loopback, with remit's own app served over HTTP for
its callback: the happy path; an orchestrator down through every attempt (stuck, the ops event), then back,
re-armed and reconciled; two concurrent reconciler runs that never re-drive one job twice; NULL payloads
skipped and counted; the cron endpoint's guard; a run's bounded fan-out of POSTs; a run's outcomes recorded in
one pass that revives each failed job once (one ledger entry) and never touches a provisioned one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from remit import ledger
from remit.api.app import create_app
from remit.audit import entries
from remit.clock import FrozenClock
from remit.provisioning import jobs_table
from remit.provisioning.callback import CallbackUpdate, apply_update
from remit.provisioning.operator import rearm
from remit.provisioning.orchestrator import StandInOrchestrator, deployment_for
from remit.provisioning.reconciler import reconcile
from remit.provisioning.states import ProvisioningStatus
from remit.runtime import Runtime
from tests.support.orchestrator import CALLBACK_SECRET, TRIGGER_SECRET, orchestrator, serve
from tests.support.provisioning import account, checkout_event, plant_job, provisioning_rows
from tests.support.webhooks import client_for, make_runtime, post_event, webhook_settings


@asynccontextmanager
async def loop(
    db_url: str, *, settings: dict[str, str] | None = None, **options: Any
) -> AsyncIterator[tuple[Runtime, StandInOrchestrator]]:
    async with orchestrator(**options) as (stand_in, trigger_url):
        configured = webhook_settings(
            db_url,
            PROVISIONING_TRIGGER_URL=trigger_url,
            PROVISIONING_TRIGGER_SECRET=TRIGGER_SECRET,
            PROVISIONING_CALLBACK_SECRET=CALLBACK_SECRET,
            CRON_SECRET="cron-test-secret",
            **(settings or {}),
        )
        runtime = make_runtime(configured)
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


async def test_a_run_keeps_at_most_the_configured_triggers_in_flight_and_records_every_outcome(db_url: str) -> None:
    # A slow orchestrator (each answer held 0.2 s) shows the bound: never more than 3 POSTs at once, and 3 at once.
    bound = {"REMIT_PROVISIONING_TRIGGER_CONCURRENCY": "3"}
    async with loop(db_url, settings=bound, call_back=False, hold=0.2) as (runtime, stand_in):
        sessions = [f"cs_loop_bound_{i:02d}" for i in range(12)]
        await _pay(runtime, *sessions)
        _later(runtime, 6)
        summary = await reconcile(runtime)
        assert (summary["scanned"], summary["redriven"], summary["still_failing"]) == (12, 12, 0)
        assert stand_in.max_in_flight == 3
        assert sorted(p["stripe_session_id"] for p in stand_in.received) == sessions
        rows = await provisioning_rows(runtime)
        assert {(job.status, job.attempts, job.last_error) for job in rows} == {("enqueued", 1, None)}


async def test_outcomes_are_recorded_in_one_pass_reviving_each_failed_job_once_never_a_provisioned_one(
    rt: Runtime,
) -> None:
    cases = {"f_ok": "failed", "f_bad": "failed", "e_ok": "enqueued", "e_bad": "enqueued", "done": "enqueued"}
    for name, status in cases.items():
        await plant_job(rt, f"cs_mix_{name}", status=status, attempts=2, account_id=f"acct_mix_{name}")
    async with rt.db.begin() as conn:
        claimed = await jobs_table.claim_stale(conn, rt.clock.now(), stale_seconds=300, max_attempts=8, batch=25)
    by = {job.stripe_session_id.removeprefix("cs_mix_"): job for job in claimed}
    assert sorted(by) == sorted(cases)
    assert {job.attempts for job in claimed} == {3}
    # While the POSTs were out, the orchestrator called back for one of them.
    done = CallbackUpdate("cs_mix_done", ProvisioningStatus.PROVISIONED, deployment_id="dpl_mix", cell_id="c-1")
    async with rt.db.begin() as conn:
        await apply_update(conn, done, rt.clock.now())
    outcomes = [
        (by["f_ok"], None),
        (by["f_bad"], "http_5xx"),
        (by["e_ok"], None),
        (by["e_bad"], "fetch_error"),
        (by["done"], "fetch_error"),
    ]
    moved_each_time = []
    for _ in range(2):  # recorded twice (a retried transaction): the same rows, one ledger entry
        async with rt.db.begin() as conn:
            moved = await jobs_table.record_outcomes(conn, outcomes, rt.clock.now())
        moved_each_time.append([job.stripe_session_id for job in moved])
    assert moved_each_time == [["cs_mix_f_ok"], []]
    after = {job.stripe_session_id.removeprefix("cs_mix_"): job for job in await provisioning_rows(rt)}
    assert {name: (job.status, job.attempts, job.last_error) for name, job in after.items()} == {
        "f_ok": ("enqueued", 3, None),
        "f_bad": ("failed", 3, "http_5xx"),
        "e_ok": ("enqueued", 3, None),
        "e_bad": ("enqueued", 3, "fetch_error"),
        "done": ("provisioned", 3, None),
    }
    assert after["done"].deployment_id == "dpl_mix"
    async with rt.db.connect() as conn:
        revived = [
            (event.subject, event.data["status"], event.data["attempts"])
            for name in cases
            for event in await ledger.read(conn, subject=f"checkout_session:cs_mix_{name}")
            if event.data.get("reason") == "redrive_accepted"
        ]
    assert revived == [("checkout_session:cs_mix_f_ok", "enqueued", 3)]


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


async def test_an_outcome_writes_only_a_changed_last_error_heap_only_on_postgresql(rt: Runtime) -> None:
    # An outcome is not progress (the attempt was, and its claim moved updated_at): it writes last_error alone,
    # no indexed column, so PostgreSQL keeps each write heap-only; a repeated outcome writes nothing. A revived
    # job changes status, so it moves updated_at (and cannot be heap-only).
    cases = {"same": "enqueued", "cleared": "enqueued", "changed": "provisioning", "revived": "failed"}
    for name, status in cases.items():  # planted with last_error http_5xx
        await plant_job(rt, f"cs_hot_{name}", status=status, attempts=2, account_id=f"acct_hot_{name}")
    claimed_at = rt.clock.now()
    async with rt.db.begin() as conn:
        claimed = await jobs_table.claim_stale(conn, claimed_at, stale_seconds=300, max_attempts=8, batch=25)
    by = {job.stripe_session_id.removeprefix("cs_hot_"): job for job in claimed}
    _later(rt, 0.5)  # the POSTs took 30 s
    errors = {"same": "http_5xx", "cleared": None, "changed": "fetch_error", "revived": None}
    # This backend's row-update counters, read in the transaction before and after (they may still hold the
    # claim's counts, not yet flushed): the difference is the outcomes' own writes.
    counters = sa.text(
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'remit_provisioning_jobs'"
    )
    async with rt.db.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        before = (await conn.execute(counters)).one() if postgres else (0, 0)
        await jobs_table.record_outcomes(conn, [(by[name], error) for name, error in errors.items()], rt.clock.now())
        if postgres:
            written, heap_only = (a - b for a, b in zip((await conn.execute(counters)).one(), before, strict=True))
            assert (written, heap_only) == (3, 2)  # "same" not written; "cleared" and "changed" heap-only
    after = {job.stripe_session_id.removeprefix("cs_hot_"): job for job in await provisioning_rows(rt)}
    assert {name: (job.status, job.last_error, job.updated_at) for name, job in after.items()} == {
        "same": ("enqueued", "http_5xx", claimed_at),
        "cleared": ("enqueued", None, claimed_at),
        "changed": ("provisioning", "fetch_error", claimed_at),
        "revived": ("enqueued", None, rt.clock.now()),
    }


async def test_an_accepted_redrive_does_not_pull_back_a_job_the_orchestrator_already_took(rt: Runtime) -> None:
    # A failed job re-driven: the orchestrator accepts it and calls back "provisioning" before the run writes its
    # outcomes (they wait for every POST of the batch). The revive is for failed jobs only: the job stays
    # provisioning, with no redrive_accepted entry, rather than going back to enqueued.
    await plant_job(rt, "cs_race_taken", status="failed", attempts=2, account_id="acct_race_taken")
    async with rt.db.begin() as conn:
        [claimed] = await jobs_table.claim_stale(conn, rt.clock.now(), stale_seconds=300, max_attempts=8, batch=25)
    taken = CallbackUpdate("cs_race_taken", ProvisioningStatus.PROVISIONING)
    async with rt.db.begin() as conn:
        await apply_update(conn, taken, rt.clock.now())
    async with rt.db.begin() as conn:
        moved = await jobs_table.record_outcomes(conn, [(claimed, None)], rt.clock.now())
    assert moved == []
    [after] = await provisioning_rows(rt)
    assert (after.status, after.attempts, after.last_error) == ("provisioning", 3, None)
    async with rt.db.connect() as conn:
        reasons = [
            event.data.get("reason") for event in await ledger.read(conn, subject="checkout_session:cs_race_taken")
        ]
    assert "redrive_accepted" not in reasons


async def test_an_outcome_does_not_overwrite_the_error_a_failed_callback_wrote_meanwhile(rt: Runtime) -> None:
    # Two enqueued jobs re-driven: the orchestrator calls back "failed" with its error for each before the run
    # writes its outcomes (one POST accepted, one answered 5xx). The orchestrator's error is what the operator
    # needs: neither outcome erases it.
    for name in ("accepted", "refused"):
        await plant_job(rt, f"cs_late_{name}", status="enqueued", attempts=2, account_id=f"acct_late_{name}")
    async with rt.db.begin() as conn:
        claimed = await jobs_table.claim_stale(conn, rt.clock.now(), stale_seconds=300, max_attempts=8, batch=25)
    by = {job.stripe_session_id.removeprefix("cs_late_"): job for job in claimed}
    for name in by:
        failed = CallbackUpdate(f"cs_late_{name}", ProvisioningStatus.FAILED, error="cell_capacity_exhausted")
        async with rt.db.begin() as conn:
            await apply_update(conn, failed, rt.clock.now())
    async with rt.db.begin() as conn:
        await jobs_table.record_outcomes(conn, [(by["accepted"], None), (by["refused"], "http_5xx")], rt.clock.now())
    after = {job.stripe_session_id.removeprefix("cs_late_"): job for job in await provisioning_rows(rt)}
    assert {name: (job.status, job.last_error) for name, job in after.items()} == {
        "accepted": ("failed", "cell_capacity_exhausted"),
        "refused": ("failed", "cell_capacity_exhausted"),
    }
