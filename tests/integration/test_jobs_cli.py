"""The operator CLI for jobs and queues, on both databases."""

from __future__ import annotations

import asyncio
import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from remit.cli import app
from remit.config import Settings
from remit.db.engine import Database
from remit.db.tables import audit_log, jobs
from remit.jobs.engine import Engine
from remit.parts import build_runtime
from tests.support import jobs as J


@pytest.fixture
def cli(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("REMIT_QUEUES", "test_default:5")
    runner = CliRunner()

    def invoke(*args: str):
        result = runner.invoke(app, list(args))
        return result

    return invoke


def _run(db_url, coro_fn):
    async def main():
        db = Database.from_url(db_url)
        try:
            return await coro_fn(db)
        finally:
            await db.dispose()

    return asyncio.run(main())


def _seed(db_url, *states):
    async def seed(db):
        ids = []
        async with db.begin() as conn:
            for state in states:
                job_id = await Engine(db).enqueue(conn, J.noop, {"s": state})
                await conn.execute(sa.update(jobs).where(jobs.c.id == job_id).values(state=state, attempt=1))
                ids.append(job_id)
        return ids

    return _run(db_url, seed)


def _states(db_url):
    async def read(db):
        async with db.connect() as conn:
            return dict((await conn.execute(sa.select(jobs.c.id, jobs.c.state))).all())

    return _run(db_url, read)


def test_queues_json_is_one_array_with_depths(cli, db_url):
    _seed(db_url, "available", "available", "discarded")
    result = cli("queues", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    by_name = {row["name"]: row for row in rows}
    assert by_name["test_default"]["available"] == 2
    assert by_name["test_default"]["discarded"] == 1
    assert by_name["test_default"]["depth"] == 2
    assert "remit_webhooks" in by_name


def test_pause_and_resume_are_persisted_and_audited(cli, db_url):
    assert cli("queues", "pause", "test_default", "--actor", "operator:test").exit_code == 0
    rows = {r["name"]: r for r in json.loads(cli("queues", "--json").stdout)}
    assert rows["test_default"]["paused"] is True
    assert cli("queues", "resume", "test_default").exit_code == 0
    rows = {r["name"]: r for r in json.loads(cli("queues", "--json").stdout)}
    assert rows["test_default"]["paused"] is False

    async def audit(db):
        async with db.connect() as conn:
            return (await conn.execute(sa.select(audit_log.c.actor, audit_log.c.action).order_by(audit_log.c.id))).all()

    trail = _run(db_url, audit)
    assert trail[0] == ("operator:test", "queues.pause")
    assert trail[1][1] == "queues.resume"


def test_jobs_list_filters_and_json(cli, db_url):
    _seed(db_url, "available", "discarded", "completed")
    everything = json.loads(cli("jobs", "list", "--json").stdout)
    assert len(everything) == 3
    discarded = json.loads(cli("jobs", "list", "--state", "discarded", "--json").stdout)
    assert [row["state"] for row in discarded] == ["discarded"]
    bad = cli("jobs", "list", "--state", "bogus")
    assert bad.exit_code != 0


def test_bulk_retry_dry_run_changes_nothing_then_retries(cli, db_url):
    ids = _seed(db_url, "discarded", "discarded", "completed")
    dry = cli("jobs", "retry", "--discarded", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["matched"] == 2
    assert _states(db_url)[ids[0]] == "discarded"
    done = cli("jobs", "retry", "--discarded", "--json")
    assert json.loads(done.stdout)["retried"] == 2
    states = _states(db_url)
    assert states[ids[0]] == states[ids[1]] == "available"
    assert states[ids[2]] == "completed"


def test_retry_single_and_cancel(cli, db_url):
    ids = _seed(db_url, "discarded", "available", "executing")
    assert cli("jobs", "retry", str(ids[0])).exit_code == 0
    assert cli("jobs", "cancel", str(ids[1])).exit_code == 0
    refused = cli("jobs", "cancel", str(ids[2]))
    assert refused.exit_code == 1
    not_retried = cli("jobs", "retry", str(ids[2]), "--json")
    assert json.loads(not_retried.stdout)["retried"] == 0
    assert not_retried.exit_code == 1  # refused, like the cancel
    assert "only a discarded, cancelled, retryable or scheduled job can be retried" in not_retried.stderr
    states = _states(db_url)
    assert states[ids[0]] == "available"
    assert states[ids[1]] == "cancelled"
    assert states[ids[2]] == "executing"
    assert cli("jobs", "retry", "999999").exit_code == 1

    async def audit(db):
        async with db.connect() as conn:
            return (await conn.execute(sa.select(audit_log.c.action).order_by(audit_log.c.id))).scalars().all()

    # What changed is audited; the refused cancel and the retry that moved nothing are not.
    assert _run(db_url, audit) == ["jobs.retry", "jobs.cancel"]


def test_enqueue_by_name(cli, db_url):
    result = cli("jobs", "enqueue", "test.noop", "--args", '{"n": 1}', "--import", "tests.support.jobs")
    assert result.exit_code == 0, result.output
    rows = json.loads(cli("jobs", "list", "--json").stdout)
    assert rows[0]["name"] == "test.noop"
    assert rows[0]["args"] == {"n": 1}
    assert rows[0]["queue"] == "test_default"
    assert cli("jobs", "enqueue", "test.noop", "--args", "[1]").exit_code == 1
    assert cli("jobs", "enqueue", "unknown.job").exit_code == 1
    assert cli("jobs", "enqueue", "unknown.job", "--queue", "elsewhere").exit_code == 0


def test_pausing_a_queue_nobody_knows_is_a_usage_error_naming_the_known_ones(cli, db_url):
    result = cli("queues", "pause", "NOSUCH")
    assert result.exit_code == 2, result.output
    assert "no queue 'NOSUCH'" in result.output
    assert "remit_webhooks" in result.output
    assert "test_default" in result.output
    assert cli("queues", "resume", "NOSUCH").exit_code == 2
    names = [row["name"] for row in json.loads(cli("queues", "--json").stdout)]
    assert "NOSUCH" not in names  # no phantom queue


def test_a_queue_is_paused_by_its_configured_key_under_its_stored_name(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("REMIT_QUEUES", "remit_webhooks=billing_hooks:3")
    runner = CliRunner()
    result = runner.invoke(app, ["queues", "pause", "remit_webhooks"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "queue billing_hooks paused"


def test_a_bad_state_is_a_usage_error_like_a_bad_webhook_status(cli, db_url):
    bad = cli("jobs", "list", "--state", "bogus")
    assert bad.exit_code == 2, bad.output
    assert "--state" in bad.output
    assert "discarded" in bad.output
    assert cli("webhooks", "list", "--status", "bogus").exit_code == 2


def test_a_listing_cut_at_its_limit_says_there_are_more(cli, db_url):
    _seed(db_url, "available", "available", "available")
    cut = cli("jobs", "list", "--limit", "2", "--json")
    assert cut.exit_code == 0, cut.output
    assert len(json.loads(cut.stdout)) == 2  # stdout stays one JSON array
    assert "there are more" in cut.stderr
    whole = cli("jobs", "list", "--limit", "3", "--json")
    assert len(json.loads(whole.stdout)) == 3
    assert "there are more" not in whole.stderr


def test_schedule_list_shows_every_periodic_task_and_cron_entry(cli, db_url):
    names = [
        "jobs.rescue",
        "jobs.prune",
        "webhooks.prune",
        "webhooks.release_held",
        "mail.requeue",
        "provisioning.reconcile",
        "money.dunning_sweep",
        "money.fee_reconcile",
        "money.payment_sync",
        "money.card_expiry",
        "meters.reconcile",
        "usage.rollup",
        "billing.prune_actions",
        "host.count_accounts",
        "host.nightly_sync",
    ]
    before = json.loads(cli("schedule", "list", "--json", "--import", "tests.support.host_app").stdout)
    assert [row["name"] for row in before] == names
    assert {row["last_outcome"] for row in before} == {None}

    async def tick(db):
        runtime = build_runtime(Settings.model_validate({"DATABASE_URL": db_url}), modules=["tests.support.host_app"])
        try:
            return await runtime.engine.fire_due()
        finally:
            await runtime.close()

    assert _run(db_url, tick) == names  # all due at once: never run before
    result = cli("schedule", "list", "--json", "--import", "tests.support.host_app")
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert list(rows) == names
    assert rows["host.count_accounts"] | {"last_run_at": None, "next_run_at": None} == {
        "name": "host.count_accounts",
        "kind": "periodic",
        "schedule": "cron 0 * * * *",
        "leader_only": True,
        "queue": None,
        "last_run_at": None,
        "last_outcome": "ok",
        "last_counts": {"accounts": 3},
        "last_error": None,
        "next_run_at": None,
        "declared": True,
    }
    assert rows["host.count_accounts"]["next_run_at"] > rows["host.count_accounts"]["last_run_at"]
    assert (rows["webhooks.prune"]["queue"], rows["webhooks.prune"]["last_outcome"]) == (
        "remit_maintenance",
        "enqueued",
    )
    assert (rows["host.nightly_sync"]["kind"], rows["host.nightly_sync"]["queue"]) == ("cron", "identity_events")
    assert (rows["mail.requeue"]["schedule"], rows["mail.requeue"]["last_counts"]) == (
        "cron */10 * * * *",
        {"unfinished": 0, "requeued": 0},
    )
    # without the host module: remit's own, and what a worker recorded of the host's, marked undeclared
    plain = {row["name"]: row["declared"] for row in json.loads(cli("schedule", "list", "--json").stdout)}
    assert plain == {name: not name.startswith("host.") for name in names}
    table = cli("schedule", "list")
    assert table.exit_code == 0
    assert "webhooks.prune" in table.stdout
    assert "cron 17 3 * * *" in table.stdout


def test_remit_schedules_replaces_a_task_schedule_and_refuses_a_name_no_task_has(cli, db_url, monkeypatch):
    monkeypatch.setenv("REMIT_SCHEDULES", "provisioning.reconcile=every 5m; host.count_accounts=*/20 * * * *")
    rows = {
        row["name"]: row
        for row in json.loads(cli("schedule", "list", "--json", "--import", "tests.support.host_app").stdout)
    }
    assert rows["provisioning.reconcile"]["schedule"] == "every 300s"
    assert rows["host.count_accounts"]["schedule"] == "cron */20 * * * *"
    assert rows["mail.requeue"]["schedule"] == "cron */10 * * * *"
    # Without the host module its task is unknown: the scheduler's commands refuse before running anything.
    refused = cli("worker")
    assert refused.exit_code == 2
    assert "REMIT_SCHEDULES: no periodic task is named 'host.count_accounts'" in refused.output
    assert "provisioning.reconcile" in refused.output
    monkeypatch.setenv("REMIT_SCHEDULES", "provisioning.reconcile=every 5")
    bad = cli("schedule", "list")
    assert bad.exit_code == 2
    assert "entry 1 (provisioning.reconcile)" in bad.output
