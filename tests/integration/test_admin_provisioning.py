"""The admin page's provisioning list, re-arm and hand-link over HTTP on both databases, and the overview's
stuck provisioning and failed meter rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from remit.db.tables import audit_log, meter_events
from remit.runtime import Runtime
from tests.support.admin import USER, browser, login, page_token, password_hash
from tests.support.provisioning import plant_job, provisioning_rows

pytestmark = pytest.mark.webhook_settings(
    REMIT_ADMIN_PASSWORD_HASH=password_hash(),
    PROVISIONING_TRIGGER_URL="http://127.0.0.1:9/never-called",  # configured; nothing here sends
    PROVISIONING_TRIGGER_SECRET="trigger-secret-for-tests",
)


@asynccontextmanager
async def logged_in(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(runtime) as client:
        await login(client)
        yield client


async def audit_rows(runtime: Runtime, action: str) -> list[dict[str, Any]]:
    async with runtime.db.connect() as conn:
        rows = await conn.execute(sa.select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id))
        return [dict(row) for row in rows.mappings()]


async def job(runtime: Runtime, job_id: int) -> Any:
    return next(row for row in await provisioning_rows(runtime) if row.id == job_id)


async def test_the_list_shows_every_job_and_stuck_only_those_the_gauge_counts(rt: Runtime) -> None:
    stuck = await plant_job(rt, "cs_admin_stuck", attempts=8)
    fresh = await plant_job(rt, "cs_admin_fresh", attempts=1, idle_seconds=10)
    done = await plant_job(rt, "cs_admin_done", status="provisioned", attempts=1)
    async with logged_in(rt) as client:
        listing = await client.get("/admin/provisioning")
        assert listing.status_code == 200
        for job_id in (stuck, fresh, done):
            assert f'id="provisioning-{job_id}"' in listing.text
        only = await client.get("/admin/provisioning", params={"stuck": "1"})
        assert f'id="provisioning-{stuck}"' in only.text
        assert f'id="provisioning-{fresh}"' not in only.text
        assert f'id="provisioning-{done}"' not in only.text
        assert (await client.get("/admin/provisioning", params={"status": "nope"})).status_code == 400
        overview = await client.get("/admin")
        assert '<div class="value" id="provisioning-stuck">1</div>' in overview.text


async def test_rearm_shows_its_dry_run_then_rearms_audited_as_the_admin(rt: Runtime) -> None:
    job_id = await plant_job(rt, "cs_admin_rearm", attempts=8)
    async with logged_in(rt) as client:
        token = await page_token(client, "/admin/provisioning")
        asked = await client.post(f"/admin/provisioning/{job_id}/rearm", data={"csrf_token": token})
        assert asked.status_code == 200
        assert "after 8 attempt(s)" in asked.text
        assert f"Re-arm job {job_id}" in asked.text
        assert (await job(rt, job_id)).attempts == 8  # the dry run changed nothing
        done = await client.post(f"/admin/provisioning/{job_id}/rearm", data={"csrf_token": token, "confirm": "yes"})
        assert done.status_code == 303
        assert "notice=rearmed" in done.headers["location"]
    after = await job(rt, job_id)
    assert (after.status, after.attempts, after.trigger_payload is not None) == ("enqueued", 0, True)
    [row] = await audit_rows(rt, "provisioning.rearm")
    assert (row["actor"], row["subject"]) == (f"admin:{USER}", f"provisioning_job:{job_id}")


async def test_rearm_is_refused_with_the_reason_for_a_provisioned_job_or_one_without_a_payload(rt: Runtime) -> None:
    provisioned = await plant_job(rt, "cs_admin_prov", status="provisioned", attempts=1)
    bare = await plant_job(rt, "cs_admin_bare", payload=False)
    async with logged_in(rt) as client:
        token = await page_token(client, "/admin/provisioning")
        for job_id, reason in ((provisioned, "is provisioned"), (bare, "has no payload to replay; hand-link it")):
            answer = await client.post(
                f"/admin/provisioning/{job_id}/rearm", data={"csrf_token": token, "confirm": "yes"}
            )
            assert answer.status_code == 409
            assert reason in answer.text
        assert (await job(rt, bare)).attempts == 8
    assert await audit_rows(rt, "provisioning.rearm") == []


@pytest.mark.webhook_settings(REMIT_ADMIN_PASSWORD_HASH=password_hash())
async def test_without_a_trigger_the_rearm_is_refused_unless_forced(rt: Runtime) -> None:
    job_id = await plant_job(rt, "cs_admin_force", attempts=8)
    async with logged_in(rt) as client:
        listing = await client.get("/admin/provisioning")
        assert "trigger not configured" in listing.text
        token = await page_token(client, "/admin/provisioning")
        plain = await client.post(f"/admin/provisioning/{job_id}/rearm", data={"csrf_token": token, "confirm": "yes"})
        assert plain.status_code == 409
        assert "PROVISIONING_TRIGGER_URL" in plain.text
        forced = await client.post(
            f"/admin/provisioning/{job_id}/rearm", data={"csrf_token": token, "force": "yes", "confirm": "yes"}
        )
        assert forced.status_code == 303
    assert (await job(rt, job_id)).attempts == 0
    [row] = await audit_rows(rt, "provisioning.rearm")
    assert row["details"]["force"] is True


async def test_hand_link_checks_the_form_confirms_then_links_like_the_callback(rt: Runtime) -> None:
    job_id = await plant_job(rt, "cs_admin_link", attempts=8)
    async with logged_in(rt) as client:
        form = await client.get(f"/admin/provisioning/{job_id}/link")
        assert form.status_code == 200
        assert "cs_admin_link" in form.text
        token = await page_token(client, f"/admin/provisioning/{job_id}/link")
        bad = await client.post(
            f"/admin/provisioning/{job_id}/link",
            data={"csrf_token": token, "deployment": "dep_1", "quota": "-5", "confirm": "yes"},
        )
        assert bad.status_code == 400
        assert "quota" in bad.text
        empty = await client.post(f"/admin/provisioning/{job_id}/link", data={"csrf_token": token, "confirm": "yes"})
        assert empty.status_code == 400
        assert "deployment is required" in empty.text
        fields = {"csrf_token": token, "deployment": "dep_hand_1", "cell": "cell-eu-1", "quota": "5000"}
        asked = await client.post(f"/admin/provisioning/{job_id}/link", data=fields)
        assert asked.status_code == 200
        assert "deployment dep_hand_1, cell cell-eu-1" in asked.text
        assert (await job(rt, job_id)).status == "enqueued"
        done = await client.post(f"/admin/provisioning/{job_id}/link", data={**fields, "confirm": "yes"})
        assert done.status_code == 303
        assert "notice=linked" in done.headers["location"]
        again = await client.post(f"/admin/provisioning/{job_id}/link", data={**fields, "confirm": "yes"})
        assert "notice=link_unchanged" in again.headers["location"]
        assert (await client.get("/admin/provisioning/999999/link")).status_code == 404
    after = await job(rt, job_id)
    assert (after.status, after.deployment_id, after.cell_id) == ("provisioned", "dep_hand_1", "cell-eu-1")
    rows = await audit_rows(rt, "provisioning.link")
    admin = f"admin:{USER}"
    assert [(row["actor"], row["details"]["changed"]) for row in rows] == [(admin, True), (admin, False)]


async def test_provisioning_forms_need_the_csrf_token(rt: Runtime) -> None:
    job_id = await plant_job(rt, "cs_admin_csrf", attempts=8)
    async with logged_in(rt) as client:
        forged = await client.post(
            f"/admin/provisioning/{job_id}/rearm", data={"csrf_token": "forged", "confirm": "yes"}
        )
        assert forged.status_code == 403
        missing = await client.post(
            f"/admin/provisioning/{job_id}/link", data={"deployment": "dep_x", "confirm": "yes"}
        )
        assert missing.status_code == 403
    assert (await job(rt, job_id)).attempts == 8
    assert (await job(rt, job_id)).status == "enqueued"


async def test_the_overview_counts_failed_meter_rows(rt: Runtime) -> None:
    now = rt.clock.now()
    rows = [
        {
            "operation_id": f"op_admin_{n}",
            "customer_id": "cus_admin",
            "meter": "tokens",
            "value": 1,
            "timestamp": now,
            "hour": now.replace(minute=0, second=0),
            "state": state,
            "attempts": 1,
            "created_at": now,
            "updated_at": now,
        }
        for n, state in enumerate(["failed", "failed", "pending", "reported"])
    ]
    async with rt.db.begin() as conn:
        await conn.execute(sa.insert(meter_events), rows)
    async with logged_in(rt) as client:
        overview = await client.get("/admin")
    assert '<div class="value" id="meter-failed">2</div>' in overview.text
