"""``remit fake trigger checkout.session.completed`` makes its session through remit's own checkout action (a
new account on the demo package ``starter``), so the paid checkout ends in the provisioning hand-off."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from remit.api.app import create_app
from remit.api.webhooks import close_writer
from remit.cli import app as remit_app
from remit.cli.fake import checkout_overrides
from remit.db.engine import create_sync_engine
from remit.db.tables import accounts, billing_actions, provisioning_jobs
from remit.processor.fake import FakeEngine
from remit.processor.fake.delivery import AsgiDelivery
from remit.processor.fake.triggers import run_trigger
from remit.runtime import Runtime
from tests.support.processes import dead_url
from tests.support.webhooks import SECRET


async def test_the_triggered_checkout_is_remits_and_is_handed_to_provisioning(rt: Runtime) -> None:
    app = create_app(rt)
    engine = FakeEngine(rt.db, rt.clock, delivery=AsgiDelivery(app), secret=SECRET)
    try:
        result = await run_trigger(engine, "checkout.session.completed", overrides=checkout_overrides(rt, engine))
        assert result.event_types[-1] == "checkout.session.completed"
        await rt.drain(["remit_webhooks"])
        async with rt.db.connect() as conn:
            [action] = (await conn.execute(sa.select(billing_actions))).mappings().all()
            [job] = (await conn.execute(sa.select(provisioning_jobs))).mappings().all()
            [account] = (await conn.execute(sa.select(accounts))).mappings().all()
        assert (action["action"], action["status"], action["processor"]) == (
            "create_checkout_session",
            "succeeded",
            "fake",
        )
        assert job["stripe_session_id"] == action["object_id"]
        assert (job["origin"], job["account_id"]) == ("remit", action["account_id"])
        assert str(job["account_id"]).startswith("acct_demo_")
        assert (job["trigger_payload"]["package_slug"], job["trigger_payload"]["tokens_quota"]) == ("starter", 100_000)
        assert job["trigger_payload"]["customer_id"]  # the customer the paid checkout created
        assert (account["id"], account["package_slug"]) == (job["account_id"], "starter")
    finally:
        await close_writer(app)


def test_the_cli_trigger_goes_through_the_action(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("REMIT_ENV", "test")
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("REMIT_PROCESSOR", raising=False)
    runner = CliRunner()
    triggered = runner.invoke(
        remit_app, ["fake", "trigger", "checkout.session.completed", "--url", dead_url(), "--json"]
    )
    assert triggered.exit_code == 1  # nothing listens there: the events are kept, and it says so
    assert "remit fake deliver" in triggered.output
    # every event the trigger caused is in the delivery report, the checkout action's own ones included
    reported = [row["type"] for row in json.loads(triggered.stdout)]
    assert {"product.created", "price.created", "customer.created"} <= set(reported)
    assert reported[-1] == "checkout.session.completed"
    engine = create_sync_engine(db_url)
    try:
        with engine.connect() as conn:
            [action] = conn.execute(sa.select(billing_actions)).mappings().all()
            [account] = conn.execute(sa.select(accounts)).mappings().all()
    finally:
        engine.dispose()
    assert (action["action"], action["status"]) == ("create_checkout_session", "succeeded")
    assert (account["id"], account["status"], account["package_slug"]) == (action["account_id"], "pending", "starter")


def test_a_processor_failure_in_the_cli_triggers_checkout_is_one_line(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("REMIT_ENV", "test")
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("REMIT_PROCESSOR", raising=False)
    runner = CliRunner()
    scripted = runner.invoke(remit_app, ["fake", "fail", "--status", "500", "--method", "checkout.sessions.create"])
    assert scripted.exit_code == 0, scripted.output
    triggered = runner.invoke(remit_app, ["fake", "trigger", "checkout.session.completed", "--url", dead_url()])
    assert triggered.exit_code == 1
    assert isinstance(triggered.exception, SystemExit)  # fail(), not an escaping ProcessorError
    [line] = [text for text in triggered.stderr.splitlines() if text.startswith("error:")]  # besides the span's log
    assert "checkout action" in line
    assert "500" in line
    assert "Traceback" not in triggered.stderr
