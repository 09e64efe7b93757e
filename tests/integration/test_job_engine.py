"""The job engine's contract, run on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from remit.clock import FrozenClock
from remit.db.tables import audit_log, jobs
from remit.jobs.cron import cron
from remit.jobs.definition import job
from remit.jobs.engine import Engine
from remit.jobs.rows import JobRequest
from remit.jobs.states import JobState
from remit.telemetry import ops
from tests.support import jobs as J


@pytest.fixture
def rt(runtime):
    for definition in J.registry.definitions():
        runtime.engine.registry.add(definition)
    return runtime


async def fetch(rt, job_id):
    return await rt.engine.get(job_id)


async def enqueue_one(rt, definition, **args):
    async with rt.db.begin() as conn:
        return await rt.engine.enqueue(conn, definition, args)


async def test_rolled_back_transaction_leaves_no_job(rt):
    with pytest.raises(RuntimeError):
        async with rt.db.begin() as conn:
            await rt.engine.enqueue(conn, J.noop, {})
            raise RuntimeError("host write failed")
    async with rt.db.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(jobs))).scalar_one() == 0


async def test_job_runs_and_completes(rt):
    job_id = await enqueue_one(rt, J.noop)
    outcomes = await rt.drain()
    assert outcomes["completed"] == 1
    job = await fetch(rt, job_id)
    assert job.state is JobState.COMPLETED
    assert job.attempt == 1
    assert job.finished_at is not None


async def test_sync_job_runs_in_thread(rt):
    job_id = await enqueue_one(rt, J.sync_record)
    await rt.drain()
    assert (await fetch(rt, job_id)).state is JobState.COMPLETED


async def test_failures_retry_with_backoff_then_discard_and_fire_hook(rt):
    seen = []

    async def hook(conn, job, error):
        seen.append((job.id, error["type"]))
        # the hook runs inside the discarding transaction
        state = (await conn.execute(sa.select(jobs.c.state).where(jobs.c.id == job.id))).scalar_one()
        assert state == "discarded"

    rt.engine.registry.on_discard(hook)
    try:
        job_id = await enqueue_one(rt, J.always_fails)
        await rt.drain()
        job = await fetch(rt, job_id)
        assert job.state is JobState.RETRYABLE
        assert job.attempt == 1
        assert job.scheduled_at > job.attempted_at
        assert job.errors[0]["type"] == "RuntimeError"
        assert job.errors[0]["message"] == "boom on attempt 1"
        for _ in range(20):
            await asyncio.sleep(0.35)
            await rt.drain()
            job = await fetch(rt, job_id)
            if job.state is JobState.DISCARDED:
                break
        assert job.state is JobState.DISCARDED
        assert job.attempt == 3
        assert [e["attempt"] for e in job.errors] == [1, 2, 3]
        assert seen == [(job_id, "RuntimeError")]
    finally:
        rt.engine.registry._discard_hooks.remove(hook)


async def test_snooze_does_not_spend_attempts(rt):
    job_id = await enqueue_one(rt, J.snoozes)
    outcomes = await rt.drain()
    job = await fetch(rt, job_id)
    assert outcomes["snoozed"] == 2
    assert job.state is JobState.COMPLETED
    assert job.attempt == 3
    assert job.max_attempts == 3  # one attempt given back per snooze
    assert job.meta["snoozed"] == 2


async def test_job_can_cancel_itself(rt):
    job_id = await enqueue_one(rt, J.cancels)
    await rt.drain()
    job = await fetch(rt, job_id)
    assert job.state is JobState.CANCELLED
    assert job.meta["cancelled"] == "nothing to do"


async def test_discard_ends_the_job_at_once_and_fires_hooks(rt):
    seen = []

    async def hook(conn, job, error):
        # in the discarding transaction, as after a last attempt
        state = (await conn.execute(sa.select(jobs.c.state).where(jobs.c.id == job.id))).scalar_one()
        seen.append((job.id, job.attempt, state, error["type"], error["message"]))

    rt.engine.registry.on_discard(hook)
    emitted = []
    remove_sink = ops.add_sink(lambda name, meta: emitted.append((name, meta)))
    try:
        job_id = await enqueue_one(rt, J.gives_up)
        outcomes = await rt.drain()
        job = await fetch(rt, job_id)
        assert outcomes["discarded"] == 1
        assert job.state is JobState.DISCARDED
        assert job.attempt == 1  # attempts 2 to 5 were never spent
        assert job.max_attempts == 5
        assert job.finished_at is not None
        assert [(e["attempt"], e["type"]) for e in job.errors] == [(1, "Discard")]
        assert job.errors[0]["message"] == f"input {job_id} can never work"
        assert seen == [(job_id, 1, "discarded", "Discard", f"input {job_id} can never work")]
        assert [meta["job_id"] for name, meta in emitted if name == "jobs.discarded"] == [job_id]
        await asyncio.sleep(0.35)  # past the backoff a failure would have waited
        assert sum((await rt.drain()).values()) == 0
    finally:
        remove_sink()
        rt.engine.registry._discard_hooks.remove(hook)


async def test_timeout_fails_the_attempt(rt):
    job_id = await enqueue_one(rt, J.too_slow)
    await rt.drain()
    job = await fetch(rt, job_id)
    assert job.state is JobState.DISCARDED
    assert job.errors[-1]["type"] == "JobTimeout"


async def test_unique_jobs_one_pending_per_key(rt):
    first = await enqueue_one(rt, J.unique_job, key="a")
    assert await enqueue_one(rt, J.unique_job, key="a") is None
    assert await enqueue_one(rt, J.unique_job, key="b") is not None
    await rt.drain()
    assert (await fetch(rt, first)).state is JobState.COMPLETED
    assert await enqueue_one(rt, J.unique_job, key="a") is not None  # finished ones do not block


async def test_unique_jobs_enforced_by_database_under_concurrency(rt):
    async def insert():
        async with rt.db.begin() as conn:
            return await rt.engine.enqueue(conn, J.unique_job, {"key": "same"})

    results = await asyncio.gather(*(insert() for _ in range(10)))
    assert sum(r is not None for r in results) == 1


async def test_batch_enqueue(rt):
    requests = [JobRequest(J.noop, {"n": i}) for i in range(500)]
    requests += [JobRequest(J.unique_job, {"key": "x"}), JobRequest(J.unique_job, {"key": "x"})]
    async with rt.db.begin() as conn:
        ids = await rt.engine.enqueue_many(conn, requests)
    assert len(ids) == 501
    assert (await rt.drain())["completed"] == 501


async def test_a_large_batch_without_unique_keys_is_inserted_whole_and_in_order(rt):
    # On PostgreSQL this batch goes by COPY (COPY_FROM_ROWS), the same rows as the statement would insert.
    from remit.jobs.store.enqueue import COPY_FROM_ROWS

    later = rt.clock.now() + timedelta(hours=1)
    text = 'tab\there "quoted" é \\ new\nline'
    requests = [JobRequest(J.noop, {"n": i, "text": text}, meta={"i": i}) for i in range(COPY_FROM_ROWS)]
    requests.append(JobRequest(J.noop, {"n": -1}, scheduled_at=later, priority=3))
    async with rt.db.begin() as conn:
        ids = await rt.engine.enqueue_many(conn, requests)
    assert len(ids) == len(requests)
    assert ids == sorted(ids)
    first, last = await fetch(rt, ids[0]), await fetch(rt, ids[-1])
    assert first.args == {"n": 0, "text": text}
    assert first.meta == {"i": 0}
    assert first.state is JobState.AVAILABLE
    assert first.errors == []
    assert first.attempt == 0
    assert first.max_attempts == J.noop.max_attempts
    assert first.timeout == J.noop.timeout
    assert last.state is JobState.SCHEDULED
    assert last.scheduled_at == later
    assert last.priority == 3
    assert (await rt.drain())["completed"] == COPY_FROM_ROWS
    with pytest.raises(RuntimeError):  # and it belongs to the caller's transaction like any enqueue
        async with rt.db.begin() as conn:
            await rt.engine.enqueue_many(conn, requests)
            raise RuntimeError("host write failed")
    async with rt.db.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(jobs))).scalar_one() == len(requests)


async def test_a_large_batch_stores_every_column_as_build_row_gives_it(rt):
    # On PostgreSQL by COPY in its binary format (each field in its column's type), on SQLite by the statement.
    from remit.jobs.store.enqueue import COPY_FROM_ROWS

    now = rt.clock.now()
    requests = [JobRequest(J.noop, {"n": i}) for i in range(COPY_FROM_ROWS)]
    requests += [
        JobRequest(J.noop, {"t": "\\\t\n é"}, queue="elsewhere", priority=-2, max_attempts=3, meta={"m": [1]}),
        JobRequest("test.noop", delay=90.5),
    ]
    async with rt.db.begin() as conn:
        ids = await rt.engine.enqueue_many(conn, requests, now=now)
    async with rt.db.connect() as conn:
        stored = {row.id: row._asdict() for row in await conn.execute(sa.select(jobs).where(jobs.c.id.in_(ids)))}
    assert len(stored) == len(requests)
    for job_id, request in zip(ids, requests, strict=True):
        expected = {**rt.engine.build_row(request, now), "id": job_id}
        assert stored[job_id] == expected


async def test_scheduled_job_waits_for_its_time(rt):
    async with rt.db.begin() as conn:
        job_id = await rt.engine.enqueue(conn, J.noop, {}, delay=3600)
    assert (await fetch(rt, job_id)).state is JobState.SCHEDULED
    assert (await rt.drain())["completed"] == 0


async def test_priority_orders_claims(rt):
    async with rt.db.begin() as conn:
        low = await rt.engine.enqueue(conn, J.noop, {}, priority=5)
        high = await rt.engine.enqueue(conn, J.noop, {}, priority=0)
    claimed = await rt.engine.claim("test_default", limit=1, worker_id="w")
    assert [j.id for j in claimed] == [high]
    assert low != high


async def test_paused_queue_runs_nothing_until_resumed(rt):
    await enqueue_one(rt, J.noop)
    await rt.engine.pause("test_default", actor="test")
    assert (await rt.drain(["test_default"]))["completed"] == 0
    await rt.engine.resume("test_default", actor="test")
    assert (await rt.drain(["test_default"]))["completed"] == 1


async def test_pausing_and_resuming_many_touches_only_what_changes_and_keeps_who_paused(rt):
    await rt.engine.pause("remit_mailers", actor="operator:ada")
    async with rt.db.begin() as conn:
        paused = await rt.engine.pause_queues(conn, ["remit_meters", "remit_mailers", "test_default"], actor="bot")
    assert paused == ["remit_meters", "test_default"]  # remit_mailers was paused already: left as ada left it
    async with rt.db.begin() as conn:
        assert await rt.engine.pause_queues(conn, ["remit_meters"], actor="bot") == []
        resumed = await rt.engine.resume_queues(conn, None, actor="operator:bo", paused_by="bot")
    assert resumed == ["remit_meters", "test_default"]
    assert {s.name for s in await rt.engine.queue_stats() if s.paused} == {"remit_mailers"}
    async with rt.db.begin() as conn:
        assert await rt.engine.resume_queues(conn, ["remit_mailers", "remit_meters"], actor="operator:bo") == [
            "remit_mailers"
        ]
    async with rt.db.connect() as conn:
        stmt = sa.select(audit_log.c.actor, audit_log.c.action, audit_log.c.subject).order_by(audit_log.c.id)
        trail = (await conn.execute(stmt)).all()
    assert trail == [
        ("operator:ada", "queues.pause", "queue:remit_mailers"),
        ("bot", "queues.pause", "queue:remit_meters"),
        ("bot", "queues.pause", "queue:test_default"),
        ("operator:bo", "queues.resume", "queue:remit_meters"),
        ("operator:bo", "queues.resume", "queue:test_default"),
        ("operator:bo", "queues.resume", "queue:remit_mailers"),
    ]


async def test_stale_completion_is_rejected(rt):
    job_id = await enqueue_one(rt, J.noop)
    [run] = await rt.engine.claim("test_default", limit=1, worker_id="ghost")
    assert (await rt.engine.rescue_orphans()) == 1  # "ghost" never heartbeated
    [again] = await rt.engine.claim("test_default", limit=1, worker_id="w2")
    assert again.attempt == run.attempt + 1
    assert await rt.engine.complete([(run.id, run.attempt)]) == 0
    assert await rt.engine.complete([(again.id, again.attempt)]) == 1
    job = await fetch(rt, job_id)
    assert job.state is JobState.COMPLETED
    assert job.errors[0]["type"] == "WorkerLost"


async def test_rescue_spares_jobs_of_live_workers(rt):
    await enqueue_one(rt, J.noop)
    await rt.engine.heartbeat("alive", host="h", pid=1, queues=[])
    await rt.engine.claim("test_default", limit=1, worker_id="alive")
    assert await rt.engine.rescue_orphans() == 0


async def test_prune_keeps_recent_and_deletes_old(rt):
    old = await enqueue_one(rt, J.noop)
    fresh = await enqueue_one(rt, J.noop)
    await rt.drain()
    async with rt.db.begin() as conn:
        await conn.execute(
            sa.update(jobs).where(jobs.c.id == old).values(finished_at=rt.clock.now() - timedelta(days=2))
        )
    assert await rt.engine.prune() == 1
    assert await fetch(rt, old) is None
    assert await fetch(rt, fresh) is not None


async def test_leadership_is_exclusive_until_it_expires(rt):
    clock = FrozenClock(rt.clock.now())
    engine = Engine(rt.db, clock=clock)
    now = clock.now()
    ttl = timedelta(seconds=10)

    async def try_lead(*, name, holder, now, ttl):
        clock.set(now)
        return await engine.try_lead(holder, ttl=ttl, name=name)

    assert await try_lead(name="x", holder="a", now=now, ttl=ttl)
    assert not await try_lead(name="x", holder="b", now=now, ttl=ttl)
    assert await try_lead(name="x", holder="a", now=now + timedelta(seconds=5), ttl=ttl)
    assert await try_lead(name="x", holder="b", now=now + timedelta(seconds=16), ttl=ttl)
    assert not await try_lead(name="x", holder="a", now=now + timedelta(seconds=17), ttl=ttl)


async def test_cron_fires_once_per_tick(rt):
    engine = Engine(rt.db, clock=rt.clock, cron=[cron("every-minute", "* * * * *", J.cron_tick)])

    async def fire_due():
        return [name for name in await engine.fire_due() if name == "every-minute"]

    assert await fire_due() == ["every-minute"]
    assert await fire_due() == []
    async with rt.db.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(jobs))).scalar_one() == 1


async def test_worker_runs_jobs_and_shuts_down_gracefully(rt):
    async with rt.db.begin() as conn:
        await rt.engine.enqueue_many(conn, [JobRequest(J.noop, {"n": i}) for i in range(300)])
    worker = rt.worker(queues=["test_default"], lead=False)
    task = asyncio.create_task(worker.run())
    for _ in range(200):
        if worker.outcomes["completed"] >= 300:
            break
        await asyncio.sleep(0.05)
    worker.request_stop()
    await asyncio.wait_for(task, 10)
    assert worker.outcomes["completed"] == 300
    async with rt.db.connect() as conn:
        states = dict((await conn.execute(sa.select(jobs.c.state, sa.func.count()).group_by(jobs.c.state))).all())
        alive = (await conn.execute(sa.text("SELECT count(*) FROM remit_workers"))).scalar_one()
    assert states == {"completed": 300}
    assert alive == 0


async def test_shutdown_releases_jobs_past_grace_without_spending_attempt(rt):
    rt.engine.settings = replace(rt.engine.settings, shutdown_grace=0.1)
    async with rt.db.begin() as conn:
        await conn.exec_driver_sql(J.CREATE_RUNS)
    job_id = await enqueue_one(rt, J.record, sleep=30)
    worker = rt.worker(queues=["test_default"], lead=False)
    task = asyncio.create_task(worker.run())
    for _ in range(100):
        job = await fetch(rt, job_id)
        if job.state is JobState.EXECUTING:
            break
        await asyncio.sleep(0.05)
    worker.request_stop()
    await asyncio.wait_for(task, 10)
    job = await fetch(rt, job_id)
    assert job.state is JobState.AVAILABLE
    assert job.max_attempts == J.record.max_attempts + 1


async def test_a_job_is_given_the_engine_the_app_and_a_way_to_report_progress(rt):
    seen = []

    @job(queue="test_default", name="test.context")
    async def context_job(ctx, **_):
        await ctx.progress(3, 10)
        seen.append((ctx.app, ctx.engine, ctx.db, ctx.clock, ctx.worker_id))

    rt.engine.registry.add(context_job)
    job_id = await enqueue_one(rt, context_job)
    assert (await rt.drain())["completed"] == 1
    assert seen == [(rt, rt.engine, rt.db, rt.clock, "remit-drain")]
    progress = (await fetch(rt, job_id)).meta["progress"]
    assert (progress["done"], progress["total"]) == (3, 10)


RUNNING = {"now": 0, "most": 0, "runs": 0}


@job(queue="wide", name="tests.tracked_sleep")
async def tracked_sleep(ctx):
    RUNNING["now"] += 1
    RUNNING["most"] = max(RUNNING["most"], RUNNING["now"])
    RUNNING["runs"] += 1
    await asyncio.sleep(0.02)
    RUNNING["now"] -= 1


async def test_several_claims_in_flight_never_exceed_the_queue_concurrency(rt):
    from remit.config import parse_queues

    RUNNING.update(now=0, most=0, runs=0)
    rt.engine.registry.add(tracked_sleep)
    rt.engine.settings = replace(rt.engine.settings, queues=parse_queues("wide:6"), batch_size=2)
    async with rt.db.begin() as conn:
        await rt.engine.enqueue_many(conn, [JobRequest(tracked_sleep) for _ in range(40)])
    worker = rt.worker(queues=["wide"], lead=False)
    # three claims of two may be in flight at once on PostgreSQL; SQLite writes one transaction at a time
    assert worker._fetchers(worker._queues["wide"]) == (1 if rt.db.is_sqlite else 3)
    task = asyncio.create_task(worker.run())
    for _ in range(400):
        if worker.outcomes["completed"] >= 40:
            break
        await asyncio.sleep(0.025)
    worker.request_stop()
    await asyncio.wait_for(task, 10)
    assert worker.outcomes["completed"] == 40
    assert RUNNING["runs"] == 40
    assert 2 < RUNNING["most"] <= 6
