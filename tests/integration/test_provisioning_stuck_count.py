"""``remit provisioning list --stuck`` and the gauge ``remit_provisioning_stuck`` count exactly the same rows:
one definition of stuck (open, and no progress for 15 minutes or at the attempt cap), shown over rows on each
side of each edge."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from remit.cli import app
from remit.db.tables import provisioning_jobs
from remit.provisioning.gauges import refresh_stuck
from remit.runtime import Runtime
from remit.telemetry.metrics import provisioning_stuck

PAYLOAD = {"stripe_session_id": "x", "account_id": "a", "package_slug": "starter", "tokens_quota": 1}

#: (session, status, minutes since the last change, attempts, payload?, stuck?)
CASES = [
    ("cs_fresh", "enqueued", 1, 1, True, False),
    ("cs_old_enqueued", "enqueued", 60, 1, True, True),
    ("cs_old_provisioning", "provisioning", 60, 2, True, True),
    ("cs_old_failed", "failed", 60, 3, True, True),
    ("cs_fresh_at_cap", "failed", 1, 8, True, True),
    ("cs_fresh_over_cap", "enqueued", 1, 9, True, True),
    ("cs_old_no_payload", "enqueued", 60, 0, False, True),
    ("cs_fresh_no_payload", "enqueued", 1, 0, False, False),
    ("cs_old_provisioned", "provisioned", 600, 8, True, False),
]


def _row(now: datetime, session: str, status: str, minutes: int, attempts: int, payload: bool) -> dict[str, Any]:
    at = now - timedelta(minutes=minutes)
    return {
        "stripe_session_id": session,
        "account_id": f"acct_{session}",
        "status": status,
        "origin": "remit",
        "trigger_payload": PAYLOAD if payload else sa.null(),
        "attempts": attempts,
        "last_attempt_at": at if attempts else None,
        "created_at": at,
        "updated_at": at,
    }


async def test_list_stuck_and_the_gauge_count_the_same_rows(rt: Runtime, db_url: str) -> None:
    now = datetime.now(UTC)
    async with rt.db.begin() as conn:
        for session, status, minutes, attempts, payload, _stuck in CASES:
            await conn.execute(
                sa.insert(provisioning_jobs).values(_row(now, session, status, minutes, attempts, payload))
            )

    await refresh_stuck(rt)
    gauge = provisioning_stuck._value.get()

    # The command runs its own event loop: in a thread, as from a shell.
    command = ["provisioning", "list", "--stuck", "--json"]
    result = await asyncio.to_thread(CliRunner().invoke, app, command, env={"DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    listed = {row["stripe_session_id"] for row in json.loads(result.stdout)}

    expected = {case[0] for case in CASES if case[5]}
    assert listed == expected
    assert gauge == len(expected)
