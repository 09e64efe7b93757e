"""The money part's commands as an operator runs them, on SQLite and PostgreSQL: ``remit dunning list
[--json]`` shows who is in grace and until when, ``remit dunning sweep --dry-run`` what a sweep would ask
(with its idempotency key) and changes nothing; ``remit reconcile fees`` and ``remit payments sync`` decide
without writing under ``--dry-run`` and do the work without it; a bad ``--since`` is a usage error naming the
option."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import remit.money.sync_events as sync_events
from remit.cli import app as cli
from remit.db.tables import fees, jobs
from remit.money.dunning import TERMINATE_JOB, get_case, open_case
from remit.money.policy import CaseState, DunningPolicy
from remit.processor.fake import FailureKind
from tests.support.mail import mail_world


def remit(db_url: str, *args: str) -> Any:
    """Run ``remit ARGS --json`` on ``db_url``; its JSON answer (the command must succeed)."""
    result = CliRunner().invoke(cli, [*args, "--json"], env={"DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


async def run(db_url: str, *args: str) -> Any:
    return await asyncio.to_thread(remit, db_url, *args)


async def test_dunning_list_and_a_dry_run_sweep(db_url: str) -> None:
    async with mail_world(db_url) as world:
        now = world.runtime.clock.now()
        policy = DunningPolicy()
        async with world.runtime.db.begin() as conn:  # one grace over (the command's clock is the real one)
            await open_case(conn, policy, "sub_over", "cus_over", now - timedelta(days=20), now)
            await open_case(conn, policy, "sub_young", "cus_young", now + timedelta(days=1), now)

        listed = await run(db_url, "dunning", "list")
        assert [(row["subscription_id"], row["state"]) for row in listed] == [
            ("sub_over", "in_grace"),
            ("sub_young", "in_grace"),
        ]
        assert listed[0]["grace_until"] == (now - timedelta(days=6)).isoformat()

        planned = await run(db_url, "dunning", "sweep", "--dry-run")
        assert planned == [
            {
                "subscription_id": "sub_over",
                "customer_id": "cus_over",
                "grace_until": (now - timedelta(days=6)).isoformat(),
                "attempt": 1,
                "action": "unpaid",
                "idempotency_key": "remit-dunning:sub_over:1",
            }
        ]
        async with world.runtime.db.connect() as conn:  # a dry run asked nothing and queued nothing
            case = await get_case(conn, "sub_over")
            queued = (
                await conn.execute(sa.select(sa.func.count()).select_from(jobs).where(jobs.c.name == TERMINATE_JOB))
            ).scalar_one()
        assert case is not None
        assert (case.state, case.attempts) == (CaseState.IN_GRACE, 0)
        assert queued == 0

        swept = await run(db_url, "dunning", "sweep")
        assert (swept["due"], swept["queued"]) == (1, 1)


async def test_reconcile_fees_and_payments_sync_dry_run_then_for_real(db_url: str) -> None:
    async with mail_world(db_url) as world:
        charge_ids = await world.paid_charges(2)

        dry = await run(db_url, "reconcile", "fees", "--include-recent", "--dry-run")
        assert (dry["dry_run"], dry["recorded"]) == (True, 2)
        assert dry["processor_calls"] >= 1
        async with world.runtime.db.connect() as conn:
            assert (await conn.execute(sa.select(sa.func.count()).select_from(fees))).scalar_one() == 0

        done = await run(db_url, "reconcile", "fees", "--include-recent", "--since", "2d")
        assert (done["dry_run"], done["recorded"]) == (False, 2)
        async with world.runtime.db.connect() as conn:
            recorded = set((await conn.execute(sa.select(fees.c.subject_id))).scalars())
        assert recorded == set(charge_ids)

        synced = await run(db_url, "payments", "sync", "--since", "1d", "--dry-run")
        assert synced["dry_run"] is True
        assert {("charge", charge_id) for charge_id in charge_ids} <= {
            (row["object_type"], row["id"]) for row in synced["objects"]
        }
        applied = await run(db_url, "payments", "sync", "--since", "1d")
        assert applied["failed"] == 0
        assert applied["applied"] + applied["unchanged"] == synced["candidates"]


@pytest.mark.parametrize("group", [["reconcile", "fees"], ["payments", "sync"]])
def test_a_bad_since_is_a_usage_error_naming_the_option(group: list[str]) -> None:
    result = CliRunner().invoke(
        cli, [*group, "--since", "yesterday"], env={"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"}
    )
    assert result.exit_code == 2
    assert "--since" in result.output


async def test_payments_sync_says_so_and_fails_when_the_processor_refuses_the_event_list(db_url: str) -> None:
    async with mail_world(db_url) as world:
        await world.fake.engine.fail_next(FailureKind.EXPIRED_KEY, method="events.list")
        result = await asyncio.to_thread(
            CliRunner().invoke, cli, ["payments", "sync", "--json"], env={"DATABASE_URL": db_url}
        )
        assert result.exit_code == 1, result.output
        answer = json.loads(result.stdout)  # the summary still prints: the stuck rows were fetched
        assert (answer["event_read"], answer["cursor"]) == ("refused", None)
        assert "the processor refused the event list (401 api_key_expired)" in result.stderr
        assert "docs/runbooks/payment-sync-events-refused.md" in result.stderr

        healed = await run(db_url, "payments", "sync")  # the refusal was one answer: the next run reads
        assert healed["event_read"] == "read"


async def test_payments_sync_names_a_lost_backlog_position_without_claiming_the_cursor_kept(db_url: str) -> None:
    """The processor no longer knows the event the backlog stopped at: the run drops that position (the next
    reads its second from the top), so the error line must not say the cursor is kept."""
    async with mail_world(db_url) as world:
        now = world.runtime.clock.now()
        async with world.runtime.db.begin() as conn:
            lost = sync_events.Cursor(now - timedelta(hours=1), now, now, "evt_gone")
            await sync_events.save_cursor(conn, lost, now=now)
        result = await asyncio.to_thread(
            CliRunner().invoke, cli, ["payments", "sync", "--json"], env={"DATABASE_URL": db_url}
        )
        assert result.exit_code == 1, result.output
        assert json.loads(result.stdout)["event_read"] == "failed"
        assert "cursor is kept" not in result.stderr
        assert "the processor no longer knows the event the backlog stopped at (404 resource_missing" in result.stderr
        healed = await run(db_url, "payments", "sync")
        assert healed["event_read"] == "read"
