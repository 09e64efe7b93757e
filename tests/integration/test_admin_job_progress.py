"""A job's live progress on the admin page, on SQLite and PostgreSQL: the job page with its bar, and the
session-guarded event stream a worker's ``ctx.progress`` feeds (refused without a login)."""

from __future__ import annotations

import httpx
import pytest

from remit.api.app import create_app
from remit.api.webhooks import close_writer
from remit.runtime import Runtime
from tests.support.admin import login, password_hash
from tests.support.progress import QUEUES_SETTING, Stepper, sse_events

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.webhook_settings(REMIT_QUEUES=QUEUES_SETTING, REMIT_ADMIN_PASSWORD_HASH=password_hash()),
]


async def test_a_logged_in_admin_follows_a_job_to_its_end_and_nobody_else_can(rt: Runtime, stepper: Stepper) -> None:
    job_id = await stepper.enqueue(2, email="secret@example.com")  # an argument the page must never show
    app = create_app(rt)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="https://remit.test", timeout=60) as anonymous:
            refused = await anonymous.get(f"/admin/jobs/{job_id}/progress")
            assert refused.status_code == 401
            assert "text/event-stream" not in refused.headers["content-type"]
            assert (await anonymous.get(f"/admin/jobs/{job_id}")).status_code == 303  # to the login form
        async with httpx.AsyncClient(transport=transport, base_url="https://remit.test", timeout=60) as client:
            assert (await login(client)).status_code == 303
            shown = await client.get(f"/admin/jobs/{job_id}")
            assert shown.status_code == 200
            assert f'data-stream="/admin/jobs/{job_id}/progress"' in shown.text
            assert "script-src 'self'" in shown.headers["content-security-policy"]
            assert "secret@example.com" not in shown.text
            script = await client.get("/admin/static/progress.js")
            assert script.status_code == 200
            assert "EventSource" in script.text
            assert f'href="/admin/jobs/{job_id}"' in (await client.get("/admin/jobs")).text
            assert (await client.get("/admin/jobs/987654/progress")).status_code == 404
            assert (await client.get("/admin/jobs/987654")).status_code == 404

            answer = await stepper.run_while(client.get(f"/admin/jobs/{job_id}/progress"), 2)
    finally:
        await close_writer(app)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.headers["cache-control"] == "no-store"
    assert "secret@example.com" not in answer.text
    events = sse_events(answer.text)
    names = [name for name, _ in events]
    assert names[0] == "progress"
    assert names[-1] == "end"
    assert names.count("end") == 1
    assert events[-1][1] == {"id": job_id, "state": "completed"}
    progress = [data for name, data in events if name == "progress"]
    assert progress[0]["state"] == "available"
    assert (progress[-1]["state"], progress[-1]["done"], progress[-1]["total"]) == ("completed", 2, 2)
    assert progress[-1]["fraction"] == 1.0
    assert all("args" not in data for data in progress)
