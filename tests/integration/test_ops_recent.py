"""The newest ops events in the database (remit.control.recent), on both databases: written by the sink every
runtime installs, allow-listed metadata only, bounded, and shown on the admin overview."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from remit.api.app import create_app
from remit.api.webhooks import close_writer
from remit.control.recent import RECORDER_KEY, OpsRecorder, recent, record
from remit.db.tables import ops_events
from remit.runtime import Runtime
from remit.telemetry import ops
from tests.support.admin import login, password_hash
from tests.support.webhooks import client_for, event, post_event


async def flush(runtime: Runtime) -> None:
    recorder = runtime.extensions[RECORDER_KEY]
    assert isinstance(recorder, OpsRecorder)
    await recorder.flush()


async def test_emitted_events_are_recorded_newest_first_with_only_their_declared_identifiers(rt: Runtime) -> None:
    ops.emit("webhook_dlq.prune", deleted=3, processed=2, dead=1, email="someone@example.com")
    ops.emit("billing_switched", enabled=False, previous=True, actor="operator:test", customer_name="Jane")
    await flush(rt)
    async with rt.db.read() as conn:
        found = await recent(conn)
    assert [e.name for e in found] == ["billing_switched", "webhook_dlq.prune"]
    assert found[0].metadata == {"enabled": False, "previous": True, "actor": "operator:test"}
    assert found[1].metadata == {"deleted": 3, "processed": 2, "dead": 1}
    assert found[0].needs_action
    assert not found[1].needs_action
    assert found[0].emitted_at == rt.clock.now()


async def test_the_table_keeps_only_the_newest(rt: Runtime) -> None:
    rows = [{"name": "webhook_dlq.prune", "emitted_at": rt.clock.now(), "metadata": {"deleted": n}} for n in range(12)]
    async with rt.db.begin() as conn:
        await record(conn, rows[:7], keep=5)
        await record(conn, rows[7:], keep=5)
    async with rt.db.read() as conn:
        left = [int(e.metadata["deleted"]) for e in await recent(conn, limit=100)]
        total = (await conn.execute(sa.select(sa.func.count()).select_from(ops_events))).scalar_one()
    assert left == [11, 10, 9, 8, 7]
    assert total == 5


@pytest.mark.webhook_settings(REMIT_WEBHOOK_MAX_ATTEMPTS="1", REMIT_ADMIN_PASSWORD_HASH=password_hash())
async def test_a_dead_letter_from_a_real_dispatch_shows_on_the_overview(rt: Runtime) -> None:
    async def broken(ctx: object) -> None:
        raise RuntimeError("bug in host handler")

    rt.handlers.register("invoice.*", broken, name="test.broken")
    async with client_for(rt) as client:
        stored = await post_event(client, rt, event("invoice.paid"))
    await rt.drain()
    await flush(rt)
    app = create_app(rt)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://remit.test") as browser:
            await login(browser)
            page = await browser.get("/admin")
    finally:
        await close_writer(app)
    section = page.text.split('id="recent-ops-events"')[1].split("</table>")[0]
    assert "webhook_dlq.dead_lettered" in section
    assert f"event_id={stored.json()['id']}" in section
    assert "remit webhooks show ID" in section  # the catalog's first action
