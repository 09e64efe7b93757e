"""One redaction for every surface that shows stored error text: the CLI, the internal API and the logs.

An error message stored by a host handler (or by an older remit) may quote a key or an email. The API masked
them while ``remit webhooks show`` and ``list --json`` printed them as stored; every surface now goes through
:func:`remit.telemetry.redaction.redact_value`. Both databases.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from remit.api.app import create_app
from remit.cli import app
from remit.config import Settings
from remit.db.tables import jobs, webhook_events
from remit.telemetry.logging import configure_logging
from tests.support.logs import configured_logging_restored
from tests.support.webhooks import SECRET, client_for, event, make_runtime, post_event, webhook_settings

KEY = "sk_live_51PlantedKeyThatMustNotPrint"
EMAIL = "ada.lovelace@example.com"
MESSAGE = f"charge for {EMAIL} failed with key {KEY}"
TOKEN = "tok_live_console_0123456789abcdef"
runner = CliRunner()


async def plant(db_url: str) -> tuple[int, int]:
    """A stored event and its dispatch job whose errors quote the key and the email."""
    runtime = make_runtime(webhook_settings(db_url))
    try:
        async with client_for(runtime) as client:
            response = await post_event(client, runtime, event("invoice.paid"))
        row_id = int(response.json()["id"])
        error = {"type": "RuntimeError", "message": MESSAGE}
        async with runtime.db.begin() as conn:
            await conn.execute(
                sa.update(webhook_events)
                .where(webhook_events.c.id == row_id)
                .values(
                    status="dead",
                    last_error={**error, "attempt": 1, "handler": "test.host", "handlers": {"test.host": error}},
                    handler_results={"test.host": {"ok": False, **error}},
                )
            )
            await conn.execute(sa.update(jobs).values(state="discarded", errors=[{"attempt": 1, **error}]))
            job_id = int((await conn.execute(sa.select(jobs.c.id))).scalar_one())
        return row_id, job_id
    finally:
        await runtime.close()


@pytest.fixture
def planted(db_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("COLUMNS", "250")
    return asyncio.run(plant(db_url))


def assert_masked(text: str) -> None:
    assert KEY not in text
    assert "PlantedKey" not in text
    assert EMAIL not in text
    assert "ada.lovelace" not in text
    assert "[redacted]" in text


@pytest.mark.parametrize(
    "command",
    [
        ["webhooks", "show", "{event}"],
        ["webhooks", "show", "{event}", "--json"],
        ["webhooks", "list", "--json"],
        ["webhooks", "list", "--status", "dead", "--json"],
        ["jobs", "show", "{job}"],
        ["jobs", "show", "{job}", "--json"],
        ["jobs", "list", "--json"],
    ],
    ids=lambda command: " ".join(command),
)
def test_every_cli_command_that_prints_stored_errors_masks_them(planted: tuple[int, int], command: list[str]) -> None:
    event_id, job_id = planted
    args = [part.format(event=event_id, job=job_id) for part in command]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "charge for" in result.stdout  # the message is shown, masked
    assert_masked(result.stdout)


def test_the_cli_tables_show_the_error_type_only(planted: tuple[int, int]) -> None:
    for args in (["webhooks", "list"], ["jobs", "list"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "RuntimeError" in result.stdout
        assert KEY not in result.stdout
        assert EMAIL not in result.stdout


async def test_the_api_masks_stored_errors_the_same_way(db_url: str) -> None:
    await plant(db_url)
    settings = Settings.model_validate({"DATABASE_URL": db_url, "REMIT_ENV": "test", "REMIT_SERVICE_TOKENS": TOKEN})
    runtime = make_runtime(settings)
    try:
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://remit") as client:
            response = await client.get("/api/v1/billing/webhook-events", headers={"Authorization": f"Bearer {TOKEN}"})
    finally:
        await runtime.close()
    assert response.status_code == 200
    [found] = response.json()["data"]
    assert found["remit"]["last_error"]["message"] == "charge for [redacted] failed with key sk_[redacted]"
    assert_masked(response.text)


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    with configured_logging_restored():
        configure_logging(Settings.model_validate({}), stream=stream)
        yield stream


async def test_the_logs_mask_stored_errors_the_same_way(db_url: str, log_stream: io.StringIO) -> None:
    row_id, _ = await plant(db_url)
    runtime = make_runtime(webhook_settings(db_url))
    try:
        async with runtime.db.connect() as conn:
            stored: Any = (
                await conn.execute(sa.select(webhook_events.c.last_error).where(webhook_events.c.id == row_id))
            ).scalar_one()
    finally:
        await runtime.close()
    logging.getLogger("remit.test").warning("dead letter: %s", stored["message"], extra={"last_error": stored})
    [line] = [json.loads(text) for text in log_stream.getvalue().splitlines() if "dead letter" in text]
    assert line["event"] == "dead letter: charge for [redacted] failed with key sk_[redacted]"
    assert_masked(json.dumps(line))
