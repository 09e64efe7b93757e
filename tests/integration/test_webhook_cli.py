"""``remit webhooks …`` end to end through Typer: list/show/replay/prune/release, JSON output, the body flag."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from remit.cli import app
from remit.db.tables import audit_log, webhook_events
from remit.webhooks.handlers import HandlerContext
from tests.support.webhooks import SECRET, client_for, event, make_runtime, post_event, webhook_settings

runner = CliRunner()


async def _failing(ctx: HandlerContext) -> None:
    raise RuntimeError("handler bug")


async def _seed(db_url: str, *, flag_billing: str = "true") -> list[int]:
    """invoice.paid (dies), invoice.created (dies), customer.created (processed)."""
    runtime = make_runtime(webhook_settings(db_url, REMIT_WEBHOOK_MAX_ATTEMPTS="1", REMIT_FLAG_BILLING=flag_billing))
    runtime.handlers.register("invoice.*", _failing, name="test.cli_failing")
    try:
        ids = []
        async with client_for(runtime) as client:
            for event_type in ("invoice.paid", "invoice.created", "customer.created"):
                document = event(event_type, obj={"id": "cus_cli", "object": "customer", "email": "a@example.com"})
                ids.append(int((await post_event(client, runtime, document)).json()["id"]))
        await runtime.drain()
        return ids
    finally:
        await runtime.close()


async def _query(db_url: str, stmt: Any) -> list[Any]:
    runtime = make_runtime(webhook_settings(db_url))
    try:
        async with runtime.db.connect() as conn:
            return list((await conn.execute(stmt)).all())
    finally:
        await runtime.close()


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("USER", "cli-tester")
    monkeypatch.setenv("COLUMNS", "200")  # Rich tables wide enough not to truncate cells
    monkeypatch.delenv("REMIT_FLAG_BILLING", raising=False)
    return db_url


def _json(args: list[str]) -> Any:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_list_prints_one_json_array_with_filters(env: str) -> None:
    ids = asyncio.run(_seed(env))
    everything = _json(["webhooks", "list", "--json"])
    assert [row["id"] for row in everything] == list(reversed(ids))
    assert all("body" not in row for row in everything)
    dead = _json(["webhooks", "list", "--status", "dead", "--type", "invoice.*", "--json"])
    assert sorted(row["id"] for row in dead) == ids[:2]
    assert _json(["webhooks", "list", "--since", "2999-01-01", "--json"]) == []
    assert len(_json(["webhooks", "list", "--limit", "1", "--json"])) == 1
    table = runner.invoke(app, ["webhooks", "list"])
    assert table.exit_code == 0
    assert "invoice.paid" in table.stdout


def test_show_prints_the_body_only_with_the_flag(env: str) -> None:
    ids = asyncio.run(_seed(env))
    shown = _json(["webhooks", "show", str(ids[0]), "--json"])
    assert "body" not in shown
    assert shown["last_error"]["type"] == "RuntimeError"
    assert shown["status"] == "dead"
    assert "a@example.com" not in json.dumps(shown)
    with_body = _json(["webhooks", "show", str(ids[0]), "--body", "--json"])
    assert json.loads(with_body["body"])["data"]["object"]["email"] == "a@example.com"
    missing = runner.invoke(app, ["webhooks", "show", "424242"])
    assert missing.exit_code == 1


def test_replay_dry_run_then_bulk_then_single(env: str) -> None:
    ids = asyncio.run(_seed(env))
    dry = _json(["webhooks", "replay", "--status", "dead", "--type", "invoice.*", "--dry-run", "--json"])
    assert dry["matched"] == 2
    assert dry["dry_run"] is True
    statuses = dict(asyncio.run(_query(env, sa.select(webhook_events.c.id, webhook_events.c.status))))
    assert statuses[ids[0]] == "dead"
    bulk = _json(["webhooks", "replay", "--type", "invoice.paid", "--limit", "5", "--stagger", "2", "--json"])
    assert bulk["replayed"] == 1
    assert bulk["ids"] == [ids[0]]
    single = runner.invoke(app, ["webhooks", "replay", str(ids[1]), "--actor", "operator:jo"])
    assert single.exit_code == 0, single.output
    assert "replayed 1 of 1" in single.stdout
    not_replayable = runner.invoke(app, ["webhooks", "replay", str(ids[2])])
    assert not_replayable.exit_code == 1
    both = runner.invoke(app, ["webhooks", "replay", str(ids[0]), "--status", "dead"])
    assert both.exit_code == 1
    audit = asyncio.run(_query(env, sa.select(audit_log.c.actor, audit_log.c.action).order_by(audit_log.c.id)))
    assert [tuple(row) for row in audit] == [
        ("operator:cli-tester", "webhooks.replay"),
        ("operator:jo", "webhooks.replay"),
    ]


def test_show_prints_the_audit_trail_of_the_event(env: str) -> None:
    """``show`` answers "who replayed this, when, with which filter": bulk and single replays alike."""
    ids = asyncio.run(_seed(env))
    assert _json(["webhooks", "show", str(ids[0]), "--json"])["history"] == []
    _json(["webhooks", "replay", "--type", "invoice.paid", "--since", "1d", "--stagger", "2", "--json"])
    assert runner.invoke(app, ["webhooks", "replay", str(ids[1]), "--actor", "operator:jo"]).exit_code == 0

    bulk = _json(["webhooks", "show", str(ids[0]), "--json"])["history"]
    assert [(h["actor"], h["action"], h["bulk"]) for h in bulk] == [("operator:cli-tester", "webhooks.replay", True)]
    assert bulk[0]["details"]["type"] == "invoice.paid"
    assert bulk[0]["details"]["stagger"] == 2
    assert "ids" not in bulk[0]["details"]
    single = _json(["webhooks", "show", str(ids[1]), "--json"])["history"]
    assert [(h["actor"], h["action"], h["bulk"]) for h in single] == [("operator:jo", "webhooks.replay", False)]
    assert _json(["webhooks", "show", str(ids[2]), "--json"])["history"] == []  # never replayed
    table = runner.invoke(app, ["webhooks", "show", str(ids[1])])
    assert table.exit_code == 0
    assert "history" in table.stdout
    assert "operator:jo" in table.stdout


@pytest.mark.parametrize("value", ["last tuesday", "2026-02-30", "99999999999d"])
def test_a_bad_since_is_a_usage_error(env: str, value: str) -> None:
    for args in (["webhooks", "list"], ["webhooks", "replay", "--dry-run"]):
        result = runner.invoke(app, [*args, "--since", value])
        assert result.exit_code == 2, result.output
        assert "--since" in result.output
        assert "Traceback" not in result.output
        assert not isinstance(result.exception, (OverflowError, ValueError))


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")  # no thread traceback either
@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_database_outage_is_one_clear_line_and_exit_3(
    dialect: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = (
        "postgresql://postgres@127.0.0.1:1/nowhere"
        if dialect == "postgresql"
        else f"sqlite:///{tmp_path}/missing-dir/remit.db"
    )
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("REMIT_FLAG_BILLING", "true")
    commands = [
        ["webhooks", "list"],
        ["webhooks", "show", "1"],
        ["webhooks", "replay", "1"],
        ["webhooks", "replay", "--status", "dead", "--dry-run"],
        ["webhooks", "prune", "--dry-run"],
        ["webhooks", "release"],
        ["jobs", "list"],
        ["jobs", "show", "1"],
        ["queues"],
        ["queues", "pause", "remit_webhooks"],
    ]  # every command group shares the one runner
    for command in commands:
        result = runner.invoke(app, command)
        assert result.exit_code == 3, (command, result.output, result.exception)
        assert "database unavailable" in result.output
        assert "DATABASE_URL" in result.output
        assert "Traceback" not in result.output


def test_prune_dry_run_and_release(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    asyncio.run(_seed(env))
    dry = _json(["webhooks", "prune", "--dry-run", "--json"])
    assert dry["dry_run"] is True
    assert dry["total"] == 0  # everything is fresh
    real = runner.invoke(app, ["webhooks", "prune"])
    assert real.exit_code == 0
    assert "deleted 0 processed" in real.stdout

    held_ids = asyncio.run(_seed(env, flag_billing="false"))
    monkeypatch.setenv("REMIT_FLAG_BILLING", "false")
    refused = runner.invoke(app, ["webhooks", "release"])
    assert refused.exit_code == 1
    monkeypatch.setenv("REMIT_FLAG_BILLING", "true")
    assert _json(["webhooks", "release", "--json"]) == {"released": len(held_ids)}
