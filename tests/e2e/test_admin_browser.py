"""The admin page in a real browser: Playwright drives Debian's Chromium against a real ``remit serve``.

It logs in, replays a dead letter after the dry run, re-arms a stuck provisioning job after its dry run, pauses
and resumes a queue, opens a mirrored customer's page, is refused without a login and with a forged CSRF token,
and saves a screenshot of every page, each checked to be non-blank. A second test watches a job's progress bar
move, step by step, while a real ``remit worker`` runs the job, until it shows the end. Chromium comes from apt
(``./scripts/test`` installs it); without it the tests are skipped, and under ``CI=true`` they fail.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from remit.config import Settings
from remit.db.engine import create_sync_engine
from remit.db.tables import audit_log, jobs, provisioning_jobs, webhook_events
from remit.parts import build_runtime
from tests.support.admin import PASSWORD, USER, password_hash
from tests.support.customers import CUSTOMER, EMAIL
from tests.support.customers import seed as seed_customer_rows
from tests.support.processes import (
    READY,
    REMIT,
    ROOT,
    START_TIMEOUT_S,
    remit_env,
    remit_process,
    start_worker,
    stop,
    worker_env,
)

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: A page with content (text, tables, buttons) paints at least this share of its pixels off the background.
MIN_INKED_SHARE = 0.01


@pytest.fixture
def chromium_path() -> str:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":  # the test command installs it: missing is a failure there
            pytest.fail("chromium is not installed (./scripts/test installs it with apt)")
        pytest.skip("chromium is not installed (apt install chromium, or run ./scripts/test)")
    return CHROMIUM


def shows(page: Any, text: str) -> None:
    """The page says ``text`` once it has settled: a click that submits a form returns while the browser may
    still be between the POST and the page its redirect leads to (``page.content()`` is then empty), so this
    waits for the text, as a person would, instead of reading the page at once."""
    from playwright.sync_api import expect

    expect(page.locator("body")).to_contain_text(text, timeout=15_000)


def seed_dead_letter(db_url: str) -> int:
    """One dead webhook event, as a handler that kept failing leaves it."""
    engine = create_sync_engine(db_url)
    now = datetime.now(UTC)
    try:
        with engine.begin() as conn:
            row = conn.execute(
                sa.insert(webhook_events)
                .values(
                    endpoint="default",
                    processor="fake",
                    event_id="evt_admin_browser_1",
                    type="invoice.paid",
                    livemode=False,
                    api_version="2024-06-20",
                    status="dead",
                    body=json.dumps({"id": "evt_admin_browser_1", "type": "invoice.paid"}),
                    object_id="in_admin_browser",
                    object_type="invoice",
                    received_at=now,
                    attempts=3,
                    last_error={"type": "RuntimeError", "message": "bug in host handler"},
                    handler_results={},
                    dead_at=now,
                )
                .returning(webhook_events.c.id)
            )
            return int(row.scalar_one())
    finally:
        engine.dispose()


def seed_stuck_provisioning(db_url: str) -> int:
    """One provisioning job at the attempt cap, untouched for an hour, as an orchestrator outage leaves it."""
    engine = create_sync_engine(db_url)
    then = datetime.now(UTC) - timedelta(hours=1)
    try:
        with engine.begin() as conn:
            row = conn.execute(
                sa.insert(provisioning_jobs)
                .values(
                    stripe_session_id="cs_admin_browser_1",
                    account_id="acct_admin_browser",
                    status="enqueued",
                    origin="remit",
                    trigger_payload={"account_id": "acct_admin_browser", "package": "starter"},
                    attempts=8,
                    last_error="http_5xx",
                    last_attempt_at=then,
                    created_at=then,
                    updated_at=then,
                )
                .returning(provisioning_jobs.c.id)
            )
            return int(row.scalar_one())
    finally:
        engine.dispose()


def seed_customer(db_url: str) -> None:
    """A mirrored customer (real dj-stripe fixtures) with its subscription, invoice, charge, mail and ledger entry."""

    async def run() -> None:
        runtime = build_runtime(Settings.model_validate({"DATABASE_URL": db_url, "REMIT_ENV": "test"}))
        try:
            await seed_customer_rows(runtime)
        finally:
            await runtime.close()

    asyncio.run(run())


def read(db_url: str, stmt: sa.Select[tuple[object, ...]]) -> list[tuple[object, ...]]:
    engine = create_sync_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(stmt)]
    finally:
        engine.dispose()


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A migrated database (SQLite, then PostgreSQL) with one dead letter, one stuck provisioning job and one
    mirrored customer, and the base URL of ``remit serve`` on it (the trigger configured, at a port nothing
    listens on: nothing here sends)."""
    env = remit_env(
        db_url,
        REMIT_ADMIN_PASSWORD_HASH=password_hash(),
        REMIT_QUEUES="",
        PROVISIONING_TRIGGER_URL="http://127.0.0.1:9/provision",
        PROVISIONING_TRIGGER_SECRET="browser-test-trigger-secret",
    )
    subprocess.run([REMIT, "migrate"], env=env, cwd=tmp_path, check=True, capture_output=True)
    seed_dead_letter(db_url)
    seed_stuck_provisioning(db_url)
    seed_customer(db_url)
    with remit_process("serve", "--port", "0", env=env, cwd=tmp_path) as (proc, out, _err):
        base_url = out.wait_for(READY, START_TIMEOUT_S).group(1)
        yield db_url, base_url
        assert stop(proc) == 0


def inked_share(png: Path) -> float:
    """The share of the screenshot's pixels that differ from its most common colour (the background)."""
    from PIL import Image  # Pillow comes with WeasyPrint (remit[pdf], in the dev install)

    with Image.open(png) as image:
        pixels = image.convert("RGB")
        colours = pixels.getcolors(maxcolors=pixels.width * pixels.height) or []
    background = max(count for count, _colour in colours)
    return 1.0 - background / (pixels.width * pixels.height)


def test_an_admin_logs_in_replays_pauses_and_resumes_in_chromium(
    served: tuple[str, str], chromium_path: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    db_url, base_url = served
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
        try:
            page = browser.new_context().new_page()

            def shot(name: str) -> None:
                path = shots / f"{name}.png"
                page.screenshot(path=str(path), full_page=True)
                assert inked_share(path) > MIN_INKED_SHARE, f"{name}: the screenshot is blank"

            # Without a login: every page sends the browser to the login form.
            page.goto(f"{base_url}/admin/queues")
            assert page.url.endswith("/admin/login")
            shot("login")
            page.fill("#user", USER)
            page.fill("#password", "not the password")
            page.click("button[type=submit]")
            shows(page, "Wrong user or password")
            page.fill("#user", USER)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base_url}/admin")
            assert page.locator("#dead-letters").inner_text() == "1"
            assert page.locator("#provisioning-stuck").inner_text() == "1"
            cookies = {c["name"]: c for c in page.context.cookies()}
            session = cookies["__Host-remit_admin"]
            assert session["httpOnly"]
            assert session["secure"]
            assert session["sameSite"] == "Strict"
            shot("overview")

            # A dead letter: the dry run says what would be replayed, then the confirmation replays it.
            page.goto(f"{base_url}/admin/dead-letters")
            shot("dead-letters")
            page.click("#replay-all")
            shows(page, "1 dead event(s) match")
            assert read(db_url, sa.select(webhook_events.c.status)) == [("dead",)]
            shot("replay-dry-run")
            page.click("button.danger")
            shows(page, "Replayed 1 webhook event(s)")
            assert read(db_url, sa.select(webhook_events.c.status)) == [("received",)]
            assert read(db_url, sa.select(sa.func.count()).select_from(jobs)) == [(1,)]

            # A stuck provisioning job: listed as stuck, re-armed after the dry run says what it would do.
            page.goto(f"{base_url}/admin")
            page.click("a[href$='/provisioning?stuck=1']")
            assert page.url.endswith("/admin/provisioning?stuck=1")
            shot("provisioning")
            page.click("#provisioning-1 button.danger")
            shows(page, "Re-arm provisioning job 1")
            shows(page, "after 8 attempt(s)")
            attempts = sa.select(provisioning_jobs.c.status, provisioning_jobs.c.attempts)
            assert read(db_url, attempts) == [("enqueued", 8)]
            shot("rearm-dry-run")
            page.click("button.danger")
            shows(page, "Provisioning job 1 re-armed")
            assert read(db_url, attempts) == [("enqueued", 0)]
            page.goto(f"{base_url}/admin/provisioning?stuck=1")
            shows(page, "No provisioning jobs stuck.")

            # A queue paused (after its confirmation) and resumed.
            page.goto(f"{base_url}/admin/queues")
            shot("queues")
            page.click("#queue-remit_mailers button.danger")
            shows(page, "Pause queue remit_mailers")
            page.click("button.danger")
            shows(page, "Paused queue remit_mailers.")
            assert page.locator("#queue-remit_mailers .state").inner_text() == "paused"
            page.click("#queue-remit_mailers button")
            shows(page, "Resumed queue remit_mailers.")
            assert page.locator("#queue-remit_mailers .state").inner_text() == "running"

            for name in ("jobs", "flags", "audit", "customers"):
                page.goto(f"{base_url}/admin/{name}")
                shot(name)

            # A customer, from the list: every layer on one page, the email shown (logged in), never in the URL.
            page.click(f"#customer-{CUSTOMER} a")
            page.wait_for_url(f"{base_url}/admin/customers/{CUSTOMER}")
            shows(page, EMAIL)
            shows(page, "in_fakefakefakefakefake0001")
            assert EMAIL not in page.url
            shot("customer")

            # A form whose CSRF token was tampered with is refused, and nothing changes.
            page.goto(f"{base_url}/admin/queues")
            page.eval_on_selector_all("input[name=csrf_token]", "els => els.forEach(e => e.value = 'forged')")
            page.click("#queue-remit_mailers button.danger")
            shows(page, "CSRF token is missing or wrong")
            page.goto(f"{base_url}/admin/queues")
            assert page.locator("#queue-remit_mailers .state").inner_text() == "running"

            # Another browser, never logged in, posting the form straight: refused.
            stranger = browser.new_context().new_page()
            response = stranger.request.post(
                f"{base_url}/admin/queues/remit_mailers/pause", form={"confirm": "yes", "csrf_token": "x"}
            )
            assert response.status == 403
        finally:
            browser.close()

    actions = read(db_url, sa.select(audit_log.c.actor, audit_log.c.action).order_by(audit_log.c.id))
    assert (f"admin:{USER}", "admin.login") in actions
    assert ("admin-login", "admin.login_refused") in actions
    assert (f"admin:{USER}", "webhooks.replay") in actions
    assert (f"admin:{USER}", "queues.pause") in actions
    assert (f"admin:{USER}", "queues.resume") in actions
    assert (f"admin:{USER}", "provisioning.rearm") in actions
    assert len([a for a in actions if a[1] == "queues.pause"]) == 1  # the forged form paused nothing
    assert sorted(p.name for p in shots.iterdir()) == sorted(
        f"{n}.png"
        for n in (
            "login",
            "overview",
            "dead-letters",
            "replay-dry-run",
            "provisioning",
            "rearm-dry-run",
            "queues",
            "jobs",
            "flags",
            "audit",
            "customers",
            "customer",
        )
    )


def log_in(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/admin/login")
    page.fill("#user", USER)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/admin")


def test_a_jobs_progress_bar_moves_as_a_worker_runs_it_in_chromium(
    served: tuple[str, str], chromium_path: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    db_url, base_url = served
    gate = tmp_path / "gate"
    gate.mkdir()
    enqueued = subprocess.run(
        [REMIT, "jobs", "enqueue", "test.stepped", "--import", "tests.support.jobs",
         "--args", json.dumps({"steps": 3, "gate_dir": str(gate)})],
        cwd=ROOT, env=worker_env(db_url), check=True, capture_output=True, text=True,
    )  # fmt: skip
    found = re.search(r"enqueued job (\d+)", enqueued.stdout)
    assert found, enqueued.stdout
    job_id = int(found.group(1))
    worker = start_worker(db_url)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
            try:
                page = browser.new_context().new_page()
                errors: list[str] = []
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                log_in(page, base_url)
                page.goto(f"{base_url}/admin/jobs")
                page.click(f"a[href='/admin/jobs/{job_id}']")
                page.wait_for_url(f"{base_url}/admin/jobs/{job_id}")
                text = page.locator("#job-progress-text")
                bar = page.locator("#job-progress progress")
                expect(page.locator("#job-state")).to_have_text("executing", timeout=30_000)
                for step, shown in ((1, "1/3 (33%)"), (2, "2/3 (66%)")):
                    (gate / f"step-{step}").touch()
                    expect(text).to_have_text(shown, timeout=30_000)  # the bar moved without a reload
                    assert abs(float(bar.evaluate("b => b.value")) - step / 3) < 1e-6
                    assert page.locator("#job-state").inner_text() == "executing"
                    if step == 2:
                        page.screenshot(path=str(tmp_path / "job-progress.png"), full_page=True)
                        assert inked_share(tmp_path / "job-progress.png") > MIN_INKED_SHARE
                (gate / "step-3").touch()
                expect(text).to_have_text("3/3 (100%) · ended: completed", timeout=30_000)
                assert page.locator("#job-progress").get_attribute("data-finished") == "yes"
                assert page.locator("#job-state").inner_text() == "completed"
                assert bar.evaluate("b => b.value") == 1
                assert not [e for e in errors if "Content Security Policy" in e], errors
                # Reloaded after the end: the end state, no stream opened.
                page.reload()
                assert "ended: completed" in text.inner_text()
            finally:
                browser.close()
    finally:
        worker.terminate()
        worker.wait(timeout=20)
