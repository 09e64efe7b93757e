"""The admin page over HTTP on both databases: login, its cookie and limits, CSRF, confirmations, audited actions."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from remit.db.tables import audit_log, webhook_events
from remit.flags import read_switches
from remit.runtime import Runtime
from remit.webhooks.handlers import HandlerContext
from tests.support.admin import PASSWORD, USER, browser, csrf_of, login, page_token, password_hash
from tests.support.webhooks import client_for, event, make_runtime, post_event, webhook_settings

pytestmark = [
    pytest.mark.webhook_settings(
        REMIT_WEBHOOK_MAX_ATTEMPTS="1", REMIT_ADMIN_PASSWORD_HASH=password_hash(), REMIT_ADMIN_LOGIN_ATTEMPTS="3"
    ),
    pytest.mark.webhooks_part_only,
]


async def audit_rows(runtime: Runtime, action: str) -> list[dict[str, Any]]:
    async with runtime.db.connect() as conn:
        rows = await conn.execute(sa.select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id))
        return [dict(row) for row in rows.mappings()]


async def dead_letters(runtime: Runtime, n: int) -> list[int]:
    """``n`` dead events: a host handler that always fails, one attempt allowed."""

    async def broken(ctx: HandlerContext) -> None:
        raise RuntimeError("bug in host handler")

    runtime.handlers.register("invoice.*", broken, name="test.broken")
    ids = []
    async with client_for(runtime) as client:
        for _ in range(n):
            ids.append(int((await post_event(client, runtime, event("invoice.paid"))).json()["id"]))
    await runtime.drain()
    return ids


async def statuses(runtime: Runtime, ids: list[int]) -> list[str]:
    async with runtime.db.connect() as conn:
        rows = await conn.execute(sa.select(webhook_events.c.status).where(webhook_events.c.id.in_(ids)))
        return sorted(row[0] for row in rows)


async def test_pages_need_a_login_and_a_login_sets_a_strict_cookie(rt: Runtime) -> None:
    async with browser(rt) as client:
        for path in ("/admin", "/admin/dead-letters", "/admin/queues", "/admin/jobs", "/admin/flags", "/admin/audit"):
            response = await client.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"] == "/admin/login"
        response = await login(client)
        assert response.status_code == 303
        cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and "__Host-remit_admin=" in v)
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert "Secure" in cookie
        assert "Path=/" in cookie
        for path in ("/admin", "/admin/dead-letters", "/admin/queues", "/admin/jobs", "/admin/flags", "/admin/audit"):
            page = await client.get(path)
            assert page.status_code == 200, path
            assert page.headers["cache-control"] == "no-store"
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    [row] = await audit_rows(rt, "admin.login")
    assert row["actor"] == f"admin:{USER}"


async def test_a_wrong_password_is_refused_and_audited_and_guesses_are_limited(rt: Runtime) -> None:
    async with browser(rt) as client:
        for _ in range(3):
            response = await login(client, password="wrong")
            assert response.status_code == 401
            assert "Wrong user or password" in response.text
            assert "__Host-remit_admin=" not in response.headers.get("set-cookie", "")
        response = await login(client)  # the right password, but the limit is reached
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) >= 1
        assert (await client.get("/admin")).status_code == 303
    reasons = [row["details"]["reason"] for row in await audit_rows(rt, "admin.login_refused")]
    assert reasons == ["bad_credentials"] * 3 + ["rate_limited"]
    assert all(PASSWORD not in str(row) for row in await audit_rows(rt, "admin.login_refused"))


async def test_the_login_form_needs_its_csrf_token(rt: Runtime) -> None:
    async with browser(rt) as client:
        await client.get("/admin/login")
        response = await client.post("/admin/login", data={"user": USER, "password": PASSWORD})
        assert response.status_code == 403
        other = await client.post("/admin/login", data={"user": USER, "password": PASSWORD, "csrf_token": "forged"})
        assert other.status_code == 403
        assert (await client.get("/admin")).status_code == 303


async def test_actions_are_refused_without_a_session_or_its_csrf_token(rt: Runtime) -> None:
    async with browser(rt) as anonymous:
        response = await anonymous.post("/admin/queues/remit_mailers/pause", data={"confirm": "yes"})
        assert response.status_code == 403
    async with browser(rt) as client:
        await login(client)
        token = await page_token(client, "/admin/queues")
        for data in ({"confirm": "yes"}, {"confirm": "yes", "csrf_token": "not-the-token"}):
            response = await client.post("/admin/queues/remit_mailers/pause", data=data)
            assert response.status_code == 403
            assert "CSRF" in response.text
        elsewhere = await client.post(
            "/admin/queues/remit_mailers/pause",
            data={"confirm": "yes", "csrf_token": token},
            headers={"Origin": "https://evil.example"},
        )
        assert elsewhere.status_code == 403
    assert "remit_mailers" not in await rt.engine.paused_queues()
    assert await audit_rows(rt, "queues.pause") == []


async def test_pause_asks_for_confirmation_then_pauses_and_resume_resumes_audited(rt: Runtime) -> None:
    async with browser(rt) as client:
        await login(client)
        token = await page_token(client, "/admin/queues")
        asked = await client.post("/admin/queues/remit_mailers/pause", data={"csrf_token": token})
        assert asked.status_code == 200
        assert "Pause queue remit_mailers" in asked.text
        assert "remit_mailers" not in await rt.engine.paused_queues()
        done = await client.post("/admin/queues/remit_mailers/pause", data={"csrf_token": token, "confirm": "yes"})
        assert done.status_code == 303
        assert "remit_mailers" in await rt.engine.paused_queues()
        shown = await client.get(done.headers["location"])
        assert "Paused queue remit_mailers." in shown.text
        resumed = await client.post("/admin/queues/remit_mailers/resume", data={"csrf_token": token})
        assert resumed.status_code == 303
        assert "remit_mailers" not in await rt.engine.paused_queues()
        unknown = await client.post("/admin/queues/no_such_queue/pause", data={"csrf_token": token, "confirm": "yes"})
        assert unknown.status_code == 404
    assert [row["actor"] for row in await audit_rows(rt, "queues.pause")] == [f"admin:{USER}"]
    assert [row["actor"] for row in await audit_rows(rt, "queues.resume")] == [f"admin:{USER}"]


async def test_bulk_replay_shows_the_dry_run_count_then_replays_on_confirmation(rt: Runtime) -> None:
    ids = await dead_letters(rt, 3)
    assert await statuses(rt, ids) == ["dead"] * 3
    async with browser(rt) as client:
        await login(client)
        listing = await client.get("/admin/dead-letters")
        assert listing.text.count('/replay"') >= 3
        token = csrf_of(listing.text)
        dry = await client.post("/admin/dead-letters/replay", data={"csrf_token": token, "type": ""})
        assert dry.status_code == 200
        assert "3 dead event(s) match" in dry.text
        assert 'name="expected" value="3"' in dry.text
        assert await statuses(rt, ids) == ["dead"] * 3  # a dry run changes nothing
        stale = await client.post(
            "/admin/dead-letters/replay", data={"csrf_token": token, "type": "", "expected": "2", "confirm": "yes"}
        )
        assert stale.status_code == 200  # the count changed: asked again, nothing replayed
        assert "The count changed" in stale.text
        assert await statuses(rt, ids) == ["dead"] * 3
        done = await client.post(
            "/admin/dead-letters/replay", data={"csrf_token": token, "type": "", "expected": "3", "confirm": "yes"}
        )
        assert done.status_code == 303
        assert "Replayed 3 webhook event(s)" in (await client.get(done.headers["location"])).text
    assert await statuses(rt, ids) == ["received"] * 3
    [row] = await audit_rows(rt, "webhooks.replay")
    assert row["actor"] == f"admin:{USER}"
    assert sorted(row["details"]["ids"]) == sorted(ids)


async def test_single_replay_confirms_first(rt: Runtime) -> None:
    [row_id] = await dead_letters(rt, 1)
    async with browser(rt) as client:
        await login(client)
        token = await page_token(client, "/admin/dead-letters")
        asked = await client.post(f"/admin/dead-letters/{row_id}/replay", data={"csrf_token": token})
        assert "1 event would be replayed: invoice.paid" in asked.text
        assert await statuses(rt, [row_id]) == ["dead"]
        done = await client.post(f"/admin/dead-letters/{row_id}/replay", data={"csrf_token": token, "confirm": "yes"})
        assert done.status_code == 303
        again = await client.post(f"/admin/dead-letters/{row_id}/replay", data={"csrf_token": token, "confirm": "yes"})
        assert again.status_code == 409  # no longer dead
        missing = await client.post("/admin/dead-letters/999999/replay", data={"csrf_token": token})
        assert missing.status_code == 404
    assert await statuses(rt, [row_id]) == ["received"]
    [row] = await audit_rows(rt, "webhooks.replay")
    assert (row["actor"], row["subject"]) == (f"admin:{USER}", f"webhook_event:{row_id}")


async def test_flags_and_the_emergency_stop_are_switched_with_the_admins_identity(rt: Runtime) -> None:
    async with browser(rt) as client:
        await login(client)
        token = await page_token(client, "/admin/flags")
        asked = await client.post("/admin/flags/billing", data={"csrf_token": token, "value": "off"})
        assert "Switch billing off" in asked.text
        async with rt.db.connect() as conn:
            assert (await read_switches(conn, rt.settings)).billing
        done = await client.post("/admin/flags/billing", data={"csrf_token": token, "value": "off", "confirm": "yes"})
        assert done.status_code == 303
        async with rt.db.connect() as conn:
            assert not (await read_switches(conn, rt.settings)).billing
        bad = await client.post("/admin/flags/billing", data={"csrf_token": token, "value": "maybe", "confirm": "yes"})
        assert bad.status_code == 400
        stop = await client.post("/admin/stop", data={"csrf_token": token, "action": "stop", "confirm": "yes"})
        assert stop.status_code == 303
        async with rt.db.connect() as conn:
            assert (await read_switches(conn, rt.settings)).stop is not None
        start = await client.post("/admin/stop", data={"csrf_token": token, "action": "start", "confirm": "yes"})
        assert start.status_code == 303
        async with rt.db.connect() as conn:
            assert (await read_switches(conn, rt.settings)).stop is None
    assert [row["actor"] for row in await audit_rows(rt, "flags.set")] == [f"admin:{USER}"]
    actions = [row["actor"] for row in await audit_rows(rt, "emergency_stop.stop")]
    actions += [row["actor"] for row in await audit_rows(rt, "emergency_stop.start")]
    assert actions == [f"admin:{USER}"] * 2


async def test_logout_ends_the_session(rt: Runtime) -> None:
    async with browser(rt) as client:
        await login(client)
        token = await page_token(client)
        out = await client.post("/admin/logout", data={"csrf_token": token})
        assert out.status_code == 303
        assert (await client.get("/admin")).status_code == 303
    assert [row["actor"] for row in await audit_rows(rt, "admin.logout")] == [f"admin:{USER}"]


async def test_the_page_is_off_until_configured(db_url: str) -> None:
    runtime = make_runtime(webhook_settings(db_url))
    try:
        async with browser(runtime) as client:
            for path in ("/admin", "/admin/login"):
                response = await client.get(path)
                assert response.status_code == 503
                assert "REMIT_ADMIN_PASSWORD_HASH" in response.text
            assert (await client.post("/admin/login", data={"user": USER, "password": PASSWORD})).status_code == 503
    finally:
        await runtime.close()


async def test_a_trusted_proxy_names_the_user(db_url: str) -> None:
    trusted = make_runtime(webhook_settings(db_url, REMIT_ADMIN_PROXY_USER_HEADER="X-Forwarded-User"))
    untrusted = make_runtime(
        webhook_settings(
            db_url, REMIT_ADMIN_PROXY_USER_HEADER="X-Forwarded-User", REMIT_ADMIN_PROXY_NETWORKS="10.0.0.0/8"
        )
    )
    try:
        async with browser(trusted, **{"X-Forwarded-User": "ops@example.com"}) as client:
            page = await client.get("/admin")
            assert page.status_code == 200
            token = csrf_of(page.text)
            done = await client.post("/admin/queues/remit_mailers/resume", data={"csrf_token": token})
            assert done.status_code == 303
        async with browser(trusted) as client:  # no header: the proxy did not vouch for anyone
            assert (await client.get("/admin")).status_code == 401
        async with browser(untrusted, **{"X-Forwarded-User": "ops@example.com"}) as client:
            assert (await client.get("/admin")).status_code == 401  # the peer (127.0.0.1) is not the proxy
    finally:
        await trusted.close()
        await untrusted.close()
    [row] = await audit_rows(trusted, "emergency_stop.start")
    assert row["actor"] == "admin:ops@example.com"
