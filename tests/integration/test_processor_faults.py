"""Processor faults inside jobs (``remit.processor_call``), driven by the fake's scripted failures, on both
databases: 429 snoozes without spending an attempt and honours ``Retry-After``; 500 and timeouts retry with
the job's backoff; 401 marks the credentials expired once, pauses the processor queues for every worker,
shows in ``/health`` and ``remit doctor``, and the operator's resume brings every job back."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from remit import JobContext, Runtime, job, processor_call
from remit.api.app import create_app
from remit.cli import app as cli_app
from remit.clock import FrozenClock
from remit.db.tables import audit_log, fake_objects
from remit.doctor import Status, diagnose, is_healthy
from remit.errors import ProcessorError
from remit.jobs.retry import Backoff
from remit.jobs.states import JobState
from remit.part import Part
from remit.processor import credentials
from remit.processor.credentials import EXPIRY_ACTOR, read_expiry, resume_queue
from remit.processor.fake import CollectingDelivery, FakeEngine, FakeProcessor
from remit.processor.faults import THROTTLE_JITTER
from remit.telemetry.metrics import REGISTRY
from tests.support.webhooks import make_runtime, webhook_settings
from tests.support.worker_rows import add_live_worker

#: A backoff that tells a retry apart from a snooze: always 30 s, no jitter.
BACKOFF = Backoff(base=30, factor=1, cap=30, jitter=0)
MAX_ATTEMPTS = 5
#: A host queue that no configuration names as processor-calling: paused all the same when its job meets 401.
HOST_QUEUE = "test_processor"
PROCESSOR_QUEUES = ["remit_meters", "remit_invoices", "remit_payment_sync", "remit_dunning", "remit_reconcilers"]


@job(queue="remit_payment_sync", name="test.processor_faults.sync", max_attempts=MAX_ATTEMPTS, backoff=BACKOFF)
async def sync_customer(ctx: JobContext[Runtime], key: str) -> None:
    """A processor-calling job as a part writes one: the call inside ``processor_call``, with its key."""
    async with processor_call(ctx, "payment sync"):
        await ctx.app.processor.create_customer(idempotency_key=key)


@job(queue=HOST_QUEUE, name="test.processor_faults.host_sync", max_attempts=MAX_ATTEMPTS, backoff=BACKOFF)
async def host_sync(ctx: JobContext[Runtime], key: str) -> None:
    async with processor_call(ctx, "host sync"):
        await ctx.app.processor.create_customer(idempotency_key=key)


@pytest.fixture
async def rt(db_url: str) -> AsyncIterator[Runtime]:
    runtime = make_runtime(
        # one job per claim, so several workers running at once each take one
        webhook_settings(db_url, REMIT_QUEUES=f"{HOST_QUEUE}:5", REMIT_JOB_BATCH_SIZE="1"),
        extra=[Part("test", jobs=(sync_customer, host_sync))],
    )
    fake(runtime).delivery = CollectingDelivery()
    yield runtime
    await runtime.close()


def fake(rt: Runtime) -> FakeEngine:
    assert isinstance(rt.processor, FakeProcessor)
    return rt.processor.engine


def clock(rt: Runtime) -> FrozenClock:
    assert isinstance(rt.clock, FrozenClock)
    return rt.clock


async def enqueue(rt: Runtime, definition: Any, key: str) -> int:
    async with rt.db.begin() as conn:
        job_id = await rt.engine.enqueue(conn, definition, {"key": key})
    assert job_id is not None
    return job_id


async def customers(rt: Runtime) -> int:
    async with rt.db.connect() as conn:
        stmt = sa.select(sa.func.count()).select_from(fake_objects).where(fake_objects.c.object == "customer")
        return int((await conn.execute(stmt)).scalar_one())


async def paused(rt: Runtime) -> set[str]:
    return {stats.name for stats in await rt.engine.queue_stats() if stats.paused}


def throttled(queue: str) -> float:
    return REGISTRY.get_sample_value("remit_processor_throttled_total", {"queue": queue}) or 0.0


async def test_a_429_snoozes_without_spending_an_attempt_and_honours_retry_after(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    await fake(rt).fail_next("429", retry_after=7)
    job_id = await enqueue(rt, sync_customer, "cus-429")
    before = throttled("remit_payment_sync")
    with caplog.at_level(logging.WARNING, logger="remit.processor"):
        outcomes = await rt.drain()
    assert outcomes["snoozed"] == 1
    snoozed = await rt.engine.get(job_id)
    assert snoozed is not None
    assert snoozed.state is JobState.SCHEDULED
    assert (snoozed.attempt, snoozed.max_attempts) == (1, MAX_ATTEMPTS + 1)  # the attempt was given back
    assert not snoozed.errors
    wait = (snoozed.scheduled_at - rt.clock.now()).total_seconds()
    assert 7 <= wait <= 7 * (1 + THROTTLE_JITTER)
    assert throttled("remit_payment_sync") == before + 1
    lines = [record for record in caplog.records if record.getMessage() == "payment sync throttled"]
    assert len(lines) == 1
    assert lines[0].__dict__["job_id"] == job_id
    assert lines[0].__dict__["queue"] == "remit_payment_sync"

    clock(rt).advance(6)
    assert (await rt.drain())["completed"] == 0  # Retry-After not over yet
    clock(rt).advance(timedelta(seconds=7 * THROTTLE_JITTER + 1))
    assert (await rt.drain())["completed"] == 1
    done = await rt.engine.get(job_id)
    assert done is not None
    assert done.state is JobState.COMPLETED
    assert await customers(rt) == 1


@pytest.mark.parametrize("failure", ["500", "timeout"])
async def test_a_server_error_or_timeout_fails_the_attempt_and_retries_with_the_jobs_backoff(
    rt: Runtime, failure: str
) -> None:
    await fake(rt).fail_next(failure, hold_seconds=0.01)
    job_id = await enqueue(rt, sync_customer, f"cus-{failure}")
    outcomes = await rt.drain()
    assert outcomes["retryable"] == 1
    failed = await rt.engine.get(job_id)
    assert failed is not None
    assert failed.state is JobState.RETRYABLE
    assert (failed.attempt, failed.max_attempts) == (1, MAX_ATTEMPTS)  # an attempt spent
    assert failed.errors is not None
    assert failed.errors[0]["type"] == "ProcessorError"
    assert (failed.scheduled_at - rt.clock.now()).total_seconds() == pytest.approx(30)
    assert await paused(rt) == set()
    clock(rt).advance(31)
    assert (await rt.drain())["completed"] == 1
    assert await customers(rt) == 1


async def test_a_401_pauses_the_processor_queues_once_and_resume_brings_every_job_back(
    rt: Runtime, ops_events: list[tuple[str, dict[str, Any]]]
) -> None:
    await rt.engine.pause("remit_dunning", actor="operator:ada")  # paused before, for its own reason
    keys = [f"cus-{n}" for n in range(4)]
    ids = [await enqueue(rt, sync_customer, key) for key in keys]
    ids.append(await enqueue(rt, host_sync, "cus-host"))
    await fake(rt).fail_next("401", count=len(ids))

    # Three workers claim and run at once: the jobs they claim meet the 401, those not yet claimed wait paused.
    workers = [rt.worker(worker_id=f"w{n}", lead=False, listen=False) for n in range(3)]
    for worker in workers:
        await worker.heartbeat()
    ran = await asyncio.gather(*(worker.run_due(["remit_payment_sync", HOST_QUEUE]) for worker in workers))
    assert sum(ran) >= 2  # at least a remit_payment_sync job and the host job met it

    expired = [meta for name, meta in ops_events if name == "processor_credentials_expired"]
    assert len(expired) == 1
    assert expired[0]["processor"] == "fake"
    assert expired[0]["status"] == 401
    assert expired[0]["code"] == "api_key_expired"
    assert await paused(rt) == {*PROCESSOR_QUEUES, HOST_QUEUE}  # the host job paused its own queue too
    states = []
    for job_id in ids:
        waiting = await rt.engine.get(job_id)
        assert waiting is not None
        assert not waiting.errors  # no attempt failed
        if waiting.state is JobState.SCHEDULED:
            assert waiting.max_attempts == MAX_ATTEMPTS + 1  # snoozed: the attempt was given back
        states.append(waiting.state)
    assert set(states) <= {JobState.SCHEDULED, JobState.AVAILABLE}
    assert states.count(JobState.SCHEDULED) == sum(ran)
    expiry = await read_expiry(rt.db, "fake")
    assert expiry is not None
    assert (expiry.status_code, expiry.code, expiry.queue) == (401, "api_key_expired", "remit_payment_sync")
    assert set(expiry.queues) == set(PROCESSOR_QUEUES)

    clock(rt).advance(60)
    assert sum((await rt.drain(["remit_payment_sync", HOST_QUEUE])).values()) == 0  # paused for every worker

    # The key is rotated (the fake forgets the 401s still scripted); the operator resumes one queue: the
    # expiry clears and the other queues it paused come back.
    await fake(rt).clear_failures()
    resumed = await resume_queue(rt.engine, "fake", "remit_payment_sync", actor="operator:ada")
    assert resumed.cleared is not None
    assert set(resumed.also_resumed) == {*PROCESSOR_QUEUES, HOST_QUEUE} - {"remit_payment_sync", "remit_dunning"}
    assert await paused(rt) == {"remit_dunning"}  # the operator's own pause stands
    assert await read_expiry(rt.db, "fake") is None
    outcomes = await rt.drain(["remit_payment_sync", HOST_QUEUE])
    assert outcomes["completed"] == len(ids)
    assert await customers(rt) == len(ids)
    assert len([name for name, _ in ops_events if name == "processor_credentials_expired"]) == 1
    async with rt.db.connect() as conn:
        trail = (await conn.execute(sa.select(audit_log.c.actor, audit_log.c.action, audit_log.c.subject))).all()
    assert sorted(subject for actor, action, subject in trail if actor == EXPIRY_ACTOR) == sorted(
        f"queue:{name}" for name in {*PROCESSOR_QUEUES, HOST_QUEUE} - {"remit_dunning"}
    )


async def test_only_one_of_many_concurrent_markers_records_the_expiry_and_emits(
    rt: Runtime, ops_events: list[tuple[str, dict[str, Any]]]
) -> None:
    ids = [await enqueue(rt, sync_customer, f"cus-{n}") for n in range(8)]
    jobs = [await rt.engine.get(job_id) for job_id in ids]
    error = ProcessorError("fake processor: customers.create answered 401", status_code=401, code="api_key_expired")
    firsts = await asyncio.gather(
        *(
            credentials.mark_expired(rt.engine, processor="fake", error=error, job=one, queues=PROCESSOR_QUEUES)
            for one in jobs
            if one is not None
        )
    )
    assert sorted(firsts) == [False] * 7 + [True]
    assert len([name for name, _ in ops_events if name == "processor_credentials_expired"]) == 1


async def test_health_and_doctor_report_expired_credentials_without_a_secret(rt: Runtime, db_url: str) -> None:
    await add_live_worker(rt)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(rt)), base_url="http://remit") as client:
        healthy = (await client.get("/health")).json()
    assert healthy["status"] == "ok"
    assert healthy["checks"]["processor_credentials"] == {"status": "ok"}

    await fake(rt).fail_next("401")
    await enqueue(rt, sync_customer, "cus-health")
    await rt.drain()
    # a new app: the last one's health report is cached for REMIT_HEALTH_CACHE_SECONDS
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(rt)), base_url="http://remit") as client:
        response = await client.get("/health")
    assert response.status_code == 200  # degraded, still serving: webhooks are stored, processor work waits
    body = response.json()
    assert body["status"] == "degraded"
    credentials_check = body["checks"]["processor_credentials"]
    assert credentials_check["status"] == "degraded"
    assert "expired since" in credentials_check["detail"]
    assert "HTTP 401" in credentials_check["detail"]
    assert body["checks"]["queues"]["status"] == "degraded"  # the processor-calling queues are paused
    assert {name for name, check in body["checks"].items() if check["status"] != "ok"} == {
        "processor_credentials",
        "queues",
    }
    assert "sk_" not in response.text

    checks = await diagnose({"DATABASE_URL": db_url, "STRIPE_API_KEY": "sk_live_doctor_must_not_print"}, runtime=rt)
    check = {c.name: c for c in checks}["processor_credentials"]
    assert check.status is Status.FAIL
    assert "HTTP 401" in check.detail
    assert "queues resume remit_payment_sync" in check.detail
    assert check.data["queues"]
    assert not is_healthy(checks)
    assert "sk_live" not in json.dumps([c.as_row() for c in checks])


def test_remit_queues_resume_clears_the_expiry_and_says_so(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async def expire() -> None:
        runtime = make_runtime(webhook_settings(db_url), extra=[Part("test", jobs=(sync_customer,))])
        fake(runtime).delivery = CollectingDelivery()
        try:
            await fake(runtime).fail_next("401")
            await enqueue(runtime, sync_customer, "cus-cli")
            await runtime.drain()
        finally:
            await runtime.close()

    asyncio.run(expire())
    monkeypatch.setenv("DATABASE_URL", db_url)
    runner = CliRunner()
    result = runner.invoke(cli_app, ["queues", "resume", "remit_meters", "--actor", "operator:test"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "queue remit_meters resumed"
    assert "processor credentials (fake) are no longer marked expired" in result.stdout
    assert "remit_payment_sync" in result.stdout
    rows = json.loads(runner.invoke(cli_app, ["queues", "--json"]).stdout)
    assert [row["name"] for row in rows if row["paused"]] == []
    doctor = {row["check"]: row for row in json.loads(runner.invoke(cli_app, ["doctor", "--json"]).stdout)}
    assert doctor["processor_credentials"]["status"] == "ok"
