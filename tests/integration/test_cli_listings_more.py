"""Every CLI listing cut at its ``--limit`` says there are more rows than shown (on stderr; ``--json`` stays one
array), as ``remit jobs list`` and ``remit webhooks list`` do (issue 8: listings say when there are more rows
than shown). Rows are written straight into the tables: each listing only reads them back."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from remit.cli import app
from remit.db.engine import create_sync_engine
from remit.db.tables import mail_log, meter_events
from remit.db.tables import provisioning_jobs as provisioning_table

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def mail_row(n: int) -> dict[str, Any]:
    return {
        "key": f"receipt:in_{n}",
        "kind": "receipt",
        "state": "pending",
        "subject_id": f"in_{n}",
        "params": {},
        "message_id": f"<m{n}@remit.test>",
        "deliveries": 0,
        "created_at": NOW,
        "updated_at": NOW,
    }


def provisioning_row(n: int) -> dict[str, Any]:
    return {
        "stripe_session_id": f"cs_{n}",
        "status": "enqueued",
        "origin": "stripe",
        "attempts": 0,
        "created_at": NOW,
        "updated_at": NOW,
    }


def usage_row(n: int) -> dict[str, Any]:
    return {
        "operation_id": f"op_{n}",
        "customer_id": "cus_1",
        "meter": "api_calls",
        "value": 1,
        "timestamp": NOW,
        "hour": NOW.replace(minute=0),
        "state": "pending",
        "attempts": 0,
        "created_at": NOW,
        "updated_at": NOW,
    }


LISTINGS: dict[str, tuple[sa.Table, Callable[[int], dict[str, Any]]]] = {
    "mail": (mail_log, mail_row),
    "provisioning": (provisioning_table, provisioning_row),
    "usage": (meter_events, usage_row),
}


@pytest.mark.parametrize("group", LISTINGS)
def test_a_listing_cut_at_its_limit_says_there_are_more(group: str, db_url: str) -> None:
    table, row = LISTINGS[group]
    engine = create_sync_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(table), [row(n) for n in range(3)])
    finally:
        engine.dispose()
    runner = CliRunner()
    env = {"DATABASE_URL": db_url, "REMIT_METERS": "api_calls"}
    cut = runner.invoke(app, [group, "list", "--limit", "2", "--json"], env=env)
    assert cut.exit_code == 0, cut.output
    assert len(json.loads(cut.stdout)) == 2  # stdout stays one JSON array
    assert "there are more" in cut.stderr
    whole = runner.invoke(app, [group, "list", "--limit", "3", "--json"], env=env)
    assert whole.exit_code == 0, whole.output
    assert len(json.loads(whole.stdout)) == 3
    assert "there are more" not in whole.stderr
