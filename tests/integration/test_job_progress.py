"""Live job progress on SQLite and PostgreSQL: ``ctx.progress`` followed through the engine (NOTIFY on
PostgreSQL, polling on SQLite), the server-sent events of ``/api/v1/jobs/{id}/progress``, and
``remit jobs follow``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from remit.api.app import create_app
from remit.cli import app as cli_app
from remit.cli.jobs import progress_line
from remit.db.tables import jobs
from remit.jobs.progress import JobNotFound, Progress
from remit.runtime import Runtime
from tests.support.progress import JOB_NAME, QUEUES_SETTING, Stepper, sse_events

TOKEN = "tok_progress_0123456789abcdef0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.webhook_settings(REMIT_QUEUES=QUEUES_SETTING, REMIT_SERVICE_TOKENS=TOKEN, REMIT_API_RATE_LIMIT="0"),
]


async def _collect(rt: Runtime, job_id: int, seen: asyncio.Queue[Progress], *, poll: float) -> list[Progress]:
    collected = []
    async for snapshot in rt.engine.follow(job_id, poll=poll):
        collected.append(snapshot)
        await seen.put(snapshot)
    return collected


async def _until(seen: asyncio.Queue[Progress], check: Callable[[Progress], bool]) -> Progress:
    while True:
        snapshot = await asyncio.wait_for(seen.get(), 30)
        if check(snapshot):
            return snapshot


async def test_a_follower_sees_every_step_and_the_end(rt: Runtime, stepper: Stepper) -> None:
    job_id = await stepper.enqueue(3)
    seen: asyncio.Queue[Progress] = asyncio.Queue()
    follower = asyncio.create_task(_collect(rt, job_id, seen, poll=0.05))
    first = await _until(seen, lambda s: True)
    assert (first.state, first.done, first.total) == ("available", None, None)
    runner = stepper.start()
    for step in (1, 2, 3):
        await stepper.step()
        snapshot = await _until(seen, lambda s, step=step: s.done == step)
        assert snapshot.total == 3
    await runner
    collected = await asyncio.wait_for(follower, 30)
    assert collected[-1].state == "completed"
    assert collected[-1].finished
    reported = [s.done for s in collected if s.done is not None]
    assert reported == sorted(reported)
    assert sorted(set(reported)) == [1, 2, 3]  # the last step may be seen first as completed 3/3
    assert collected[-1].to_json()["fraction"] == 1.0


async def test_on_postgresql_progress_and_the_end_arrive_by_notification(rt: Runtime, stepper: Stepper) -> None:
    if not rt.db.is_postgres:
        pytest.skip("SQLite has no NOTIFY: its followers poll (the test above)")
    job_id = await stepper.enqueue(2)
    seen: asyncio.Queue[Progress] = asyncio.Queue()
    # An hour between reads: only notifications can bring the steps and the end in before the test's timeout.
    follower = asyncio.create_task(_collect(rt, job_id, seen, poll=3600))
    await _until(seen, lambda s: s.state == "available")
    feed = rt.engine.progress_feed
    assert feed is not None
    assert feed.listener is not None
    await asyncio.wait_for(feed.listener.connected.wait(), 30)
    runner = stepper.start()
    await stepper.step()
    snapshot = await _until(seen, lambda s: s.done == 1)
    assert (snapshot.state, snapshot.total) == ("executing", 2)
    await stepper.step()
    await runner
    collected = await asyncio.wait_for(follower, 30)
    assert collected[-1].state == "completed"
    assert feed.listener is None  # the last follower left: the listening connection closed


async def test_following_a_job_that_does_not_exist_raises(rt: Runtime) -> None:
    with pytest.raises(JobNotFound):
        async for _ in rt.engine.follow(987654):
            pass


async def test_the_progress_stream_sends_each_change_then_end(rt: Runtime, stepper: Stepper) -> None:
    job_id = await stepper.enqueue(2)
    transport = httpx.ASGITransport(app=create_app(rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://remit", timeout=60) as http:
        one = await http.get(f"/api/v1/jobs/{job_id}", headers=AUTH)
        assert one.status_code == 200
        assert one.json()["state"] == "available"
        assert "args" not in one.json()
        answer = await stepper.run_while(http.get(f"/api/v1/jobs/{job_id}/progress", headers=AUTH), 2)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        events = sse_events(answer.text)
        assert events[0][0] == "progress"
        assert events[-1] == ("end", {"id": job_id, "state": "completed"})
        progress = [data for name, data in events if name == "progress"]
        assert progress[-1]["state"] == "completed"
        assert progress[-1]["done"] == 2
        missing = await http.get("/api/v1/jobs/987654/progress", headers=AUTH)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "resource_missing"
        assert (await http.get(f"/api/v1/jobs/{job_id}/progress")).status_code == 401
        assert (await http.get("/api/v1/jobs/not-a-number", headers=AUTH)).status_code == 400


def test_a_follow_line_says_where_the_job_is() -> None:
    line = progress_line(Progress(7, "reports.export", "q", "executing", 1, 20, 3, 10, None))
    assert line == "job 7 reports.export executing 3/10 (30%) attempt 1/20"
    assert (
        progress_line(Progress(7, "x", "q", "available", 0, 20, None, None, None)) == "job 7 x available attempt 0/20"
    )


async def test_remit_jobs_follow_prints_and_exits_by_outcome(
    rt: Runtime, stepper: Stepper, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    done_id = await stepper.enqueue(1)
    await stepper.run(1)
    async with rt.db.begin() as conn:
        lost_id = await rt.engine.enqueue(conn, JOB_NAME, {})
    async with rt.db.begin() as conn:
        await conn.execute(sa.update(jobs).where(jobs.c.id == lost_id).values(state="cancelled"))
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("REMIT_QUEUES", QUEUES_SETTING)
    runner = CliRunner()

    def follow(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli_app, ["jobs", "follow", *args])

    done = await asyncio.to_thread(follow, str(done_id))
    assert done.exit_code == 0, done.output
    assert done.output.strip().splitlines()[-1] == f"job {done_id} test.steps completed 1/1 (100%) attempt 1/20"
    as_json = await asyncio.to_thread(follow, str(done_id), "--json")
    assert json.loads(as_json.output.strip().splitlines()[-1])["state"] == "completed"
    lost = await asyncio.to_thread(follow, str(lost_id))
    assert lost.exit_code == 1
    assert "cancelled" in lost.output
    missing = await asyncio.to_thread(follow, "987654")
    assert missing.exit_code == 2
