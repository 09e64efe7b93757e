"""`remit provisioning show` finds a job by the id `list` prints first, or by its checkout session id; an unknown
one fails naming where to find a real one."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from remit.cli import app
from tests.support.provisioning import checkout_event, provisioning_rows
from tests.support.webhooks import client_for, make_runtime, post_event, webhook_settings


def _seed(db_url: str) -> tuple[int, str]:
    async def seed() -> tuple[int, str]:
        runtime = make_runtime(webhook_settings(db_url))
        try:
            async with client_for(runtime) as client:
                answer = await post_event(client, runtime, checkout_event(session_id="cs_show_me"))
                assert answer.status_code == 200
            await runtime.drain()
            [job] = await provisioning_rows(runtime)
            return job.id, job.stripe_session_id
        finally:
            await runtime.close()

    return asyncio.run(seed())


def test_show_takes_the_id_list_prints_or_the_session_id(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    job_id, session_id = _seed(db_url)
    monkeypatch.setenv("DATABASE_URL", db_url)
    runner = CliRunner()
    listed = runner.invoke(app, ["provisioning", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [row["id"] for row in json.loads(listed.stdout)] == [job_id]
    for key in (str(job_id), session_id):
        shown = runner.invoke(app, ["provisioning", "show", key, "--json"])
        assert shown.exit_code == 0, shown.output
        assert (json.loads(shown.stdout)["id"], json.loads(shown.stdout)["stripe_session_id"]) == (job_id, session_id)
    missing = runner.invoke(app, ["provisioning", "show", "999"])
    assert missing.exit_code == 1
    assert "remit provisioning list" in missing.output
