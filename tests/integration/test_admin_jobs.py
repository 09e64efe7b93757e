"""The admin page's jobs: listed by queue and state, retried and cancelled (after its confirmation) as the admin,
and every form of the admin page refused without its CSRF token — on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from remit.admin import customer_pages, pages, provisioning_pages
from remit.db.tables import audit_log
from remit.jobs.states import JobState
from remit.runtime import Runtime
from tests.support import jobs as J
from tests.support.admin import USER, browser, login, page_token, password_hash

pytestmark = pytest.mark.webhook_settings(REMIT_ADMIN_PASSWORD_HASH=password_hash())


async def audited(runtime: Runtime, action: str) -> list[tuple[str, Any]]:
    async with runtime.db.connect() as conn:
        rows = await conn.execute(
            sa.select(audit_log.c.actor, audit_log.c.details)
            .where(audit_log.c.action == action)
            .order_by(audit_log.c.id)
        )
        return [(row.actor, row.details) for row in rows]


def listed(html: str) -> set[int]:
    """The ids of the jobs a jobs page lists."""
    return {int(found) for found in re.findall(r'<td><a href="/admin/jobs/(\d+)">', html)}


async def _jobs(rt: Runtime) -> tuple[int, int]:
    """A job that gave up (discarded, on test_default) and one waiting to run (available, on test_other)."""
    rt.engine.registry.add(J.gives_up)
    rt.engine.registry.add(J.noop)
    async with rt.db.begin() as conn:
        given_up = await rt.engine.enqueue(conn, J.gives_up, {})
        waiting = await rt.engine.enqueue(conn, J.noop, {}, queue="test_other")
    await rt.drain(["test_default"])
    return given_up, waiting


async def _state(rt: Runtime, job_id: int) -> JobState:
    job = await rt.engine.get(job_id)
    assert job is not None
    return job.state


async def test_jobs_are_listed_by_queue_and_state(rt: Runtime) -> None:
    given_up, waiting = await _jobs(rt)
    async with browser(rt) as client:
        await login(client)
        assert {given_up, waiting} <= listed((await client.get("/admin/jobs")).text)
        assert listed((await client.get("/admin/jobs?state=discarded")).text) == {given_up}
        assert listed((await client.get("/admin/jobs?queue=test_other")).text) == {waiting}
        assert listed((await client.get("/admin/jobs?queue=test_other&state=discarded")).text) == set()
        unknown = await client.get("/admin/jobs?state=stuck")
        assert unknown.status_code == 400
        assert "No job state stuck." in unknown.text


async def test_a_job_is_retried_and_another_cancelled_after_its_confirmation_as_the_admin(rt: Runtime) -> None:
    given_up, waiting = await _jobs(rt)
    assert await _state(rt, given_up) is JobState.DISCARDED
    async with browser(rt) as client:
        await login(client)
        token = await page_token(client, "/admin/jobs")
        retried = await client.post(f"/admin/jobs/{given_up}/retry", data={"csrf_token": token})
        assert retried.status_code == 303
        assert f"Job {given_up} is available again." in (await client.get(retried.headers["location"])).text
        assert await _state(rt, given_up) is JobState.AVAILABLE
        again = await client.post(f"/admin/jobs/{given_up}/retry", data={"csrf_token": token})
        assert again.status_code == 409  # available: nothing to retry

        asked = await client.post(f"/admin/jobs/{waiting}/cancel", data={"csrf_token": token})
        assert asked.status_code == 200
        assert f"Cancel job {waiting}" in asked.text
        assert await _state(rt, waiting) is JobState.AVAILABLE  # asking changes nothing
        done = await client.post(f"/admin/jobs/{waiting}/cancel", data={"csrf_token": token, "confirm": "yes"})
        assert done.status_code == 303
        assert f"Job {waiting} cancelled." in (await client.get(done.headers["location"])).text
        assert await _state(rt, waiting) is JobState.CANCELLED
        missing = await client.post("/admin/jobs/987654/cancel", data={"csrf_token": token})
        assert missing.status_code == 404
    retries = [(actor, details["job_ids"], details["changed"]) for actor, details in await audited(rt, "jobs.retry")]
    # The refused retry (409) leaves no line, as the refused cancel (404) leaves none.
    assert retries == [(f"admin:{USER}", [given_up], 1)]
    assert [actor for actor, _ in await audited(rt, "jobs.cancel")] == [f"admin:{USER}"]


def _concrete(path: str) -> str:
    """An admin route with its parameters filled in (a queue and a flag that exist, ids that may not)."""
    named = path.replace("{name}", "remit_mailers" if "/queues/" in path else "billing")
    return re.sub(r"\{[^}]+\}", "1", named)


def _posted_paths() -> list[str]:
    return sorted(
        _concrete(route.path)
        for router in (pages.router, provisioning_pages.router, customer_pages.router)
        for route in router.routes
        if "POST" in getattr(route, "methods", ())
    )


async def test_every_admin_form_is_refused_without_its_csrf_token_and_changes_nothing(rt: Runtime) -> None:
    given_up, waiting = await _jobs(rt)
    paths = _posted_paths()
    assert len(paths) >= 12  # login, logout, replays, queues, jobs, flags, stop, provisioning
    async with browser(rt) as client:
        await login(client)
        for path in paths:
            form = {"confirm": "yes", "value": "off", "action": "stop", "expected": "0"}
            for data in (form, {**form, "csrf_token": "forged"}):
                answer = await client.post(path, data=data)
                assert answer.status_code == 403, (path, answer.status_code, answer.text[:200])
        assert (await client.get("/admin")).status_code == 200  # still logged in: logout was refused too
    assert await rt.engine.paused_queues() == set()
    assert [await _state(rt, job) for job in (given_up, waiting)] == [JobState.DISCARDED, JobState.AVAILABLE]
    for action in ("queues.pause", "jobs.retry", "jobs.cancel", "flags.set", "emergency_stop.stop", "admin.logout"):
        assert await audited(rt, action) == [], action
