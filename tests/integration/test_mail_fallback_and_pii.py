"""No PDF engine: the receipt links to the hosted invoice and ``pdf_adapter_unavailable`` is emitted once; any
other rendering error retries (the document job and the receipt), and the receipt then carries its PDF.
And the customer's address reaches the mail server only: never a log line, an ops event, the mail log, an
error or the CLI."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from remit.cli import app as cli
from remit.db.tables import jobs, mail_log, webhook_events
from remit.documents import UnavailableEngine, use_pdf_engine
from remit.documents.engine import RenderedPdf, WeasyPrintEngine
from remit.telemetry import ops
from remit.telemetry.logging import PAYLOAD_LOGGERS
from tests.support.mail import PLANTED_EMAIL, PLANTED_NAME, mail_outcomes, mail_world, outcomes_since
from tests.support.webhooks import client_for, event, post_event


def _shown(record: logging.LogRecord) -> bool:
    """Whether remit's logging would print ``record`` at DEBUG: everything but the test's own SMTP server
    (``mail.log``) and the payload loggers below the floor remit holds them at — raw records, before remit's
    redaction masks anything, so a slip in remit's own code shows."""
    top = record.name.split(".")[0]
    return record.name != "mail.log" and record.levelno >= PAYLOAD_LOGGERS.get(top, logging.NOTSET)


@pytest.fixture
def ops_events() -> Any:
    seen: list[tuple[str, dict[str, Any]]] = []
    remove = ops.add_sink(lambda name, meta: seen.append((name, meta)))
    yield seen
    remove()


async def test_without_a_pdf_engine_the_receipt_links_to_the_hosted_invoice(
    db_url: str, ops_events: list[tuple[str, dict[str, Any]]]
) -> None:
    async with mail_world(db_url) as world:
        use_pdf_engine(world.runtime, UnavailableEngine("ImportError: WeasyPrint is not installed"))
        invoice_id = await world.paid_invoice()
        async with world.runtime.db.connect() as conn:
            body = (
                await conn.execute(sa.select(webhook_events.c.body).where(webhook_events.c.type == "invoice.paid"))
            ).scalar_one()
        invoice = json.loads(body)["data"]["object"]
        async with client_for(world.runtime) as client:
            for _ in range(3):  # the same payment told again: no second mail, no second ops event
                assert (await post_event(client, world.runtime, event("invoice.paid", obj=invoice))).status_code == 200
        await world.drain()

        [message] = world.sink.parsed()
        assert list(message.iter_attachments()) == []
        text = message.get_body(preferencelist=("plain",)).get_content()
        assert invoice["hosted_invoice_url"] in text
        assert "attached" not in text
        async with world.runtime.db.connect() as conn:
            receipt = (await conn.execute(sa.select(mail_log).where(mail_log.c.kind == "receipt"))).mappings().one()
            renders = (
                await conn.execute(sa.select(jobs.c.state).where(jobs.c.name == "remit.documents.render_invoice"))
            ).all()
        assert (receipt["state"], receipt["attachment"]) == ("sent", "link")
        assert {row.state for row in renders} == {"cancelled"}  # no retry can help until an engine is installed
        unavailable = [meta for name, meta in ops_events if name == "pdf_adapter_unavailable"]
        assert unavailable == [
            {
                "mail_id": receipt["id"],
                "mail_kind": "receipt",
                "invoice_id": invoice_id,
                "customer_id": receipt["customer_id"],
                "reason": "ImportError: WeasyPrint is not installed",
            }
        ]


class FailingFirst:
    """WeasyPrint, but its first ``failures`` renders raise an ordinary error (a template bug, a font crash):
    a rendering error, not a missing engine."""

    name = "failing-first"

    def __init__(self, failures: int) -> None:
        self.left = failures
        self.engine = WeasyPrintEngine()

    def problem(self) -> str | None:
        return self.engine.problem()

    def render(self, html: str, stylesheets: Sequence[str] = ()) -> RenderedPdf:
        if self.left > 0:
            self.left -= 1
            raise RuntimeError("the renderer crashed")
        return self.engine.render(html, stylesheets)


async def test_any_other_rendering_error_retries_and_the_receipt_then_carries_its_pdf(
    db_url: str, ops_events: list[tuple[str, dict[str, Any]]]
) -> None:
    async with mail_world(db_url) as world:
        use_pdf_engine(world.runtime, FailingFirst(2))  # the document job's render and the receipt's both fail
        await world.paid_invoice()
        assert world.sink.messages == []  # no mail with a link: the receipt waits for its PDF
        async with world.runtime.db.connect() as conn:
            receipt = (await conn.execute(sa.select(mail_log).where(mail_log.c.kind == "receipt"))).mappings().one()
            renders = (
                await conn.execute(sa.select(jobs.c.state).where(jobs.c.name == "remit.documents.render_invoice"))
            ).all()
        assert (receipt["state"], receipt["deliveries"]) == ("pending", 0)
        assert "cancelled" not in {row.state for row in renders}  # retried, not given up as a missing engine

        world.runtime.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
        await world.drain()
        [message] = world.sink.parsed()
        [attachment] = list(message.iter_attachments())
        assert attachment.get_content().startswith(b"%PDF-")
        async with world.runtime.db.connect() as conn:
            receipt = (await conn.execute(sa.select(mail_log).where(mail_log.c.kind == "receipt"))).mappings().one()
        assert (receipt["state"], receipt["attachment"]) == ("sent", "pdf")
    assert [name for name, _ in ops_events if name == "pdf_adapter_unavailable"] == []


async def test_the_address_goes_to_the_mail_server_and_nowhere_else(
    db_url: str, caplog: pytest.LogCaptureFixture, ops_events: list[tuple[str, dict[str, Any]]]
) -> None:
    caplog.set_level(logging.DEBUG)
    before = mail_outcomes()
    async with mail_world(db_url) as world:
        # the server refuses the first recipient quoting the address, as real servers do; a 4xx, so retried
        world.sink.rcpt_replies.append("450 4.2.0 <{address}>: mailbox busy")
        invoice_id = await world.paid_invoice()
        async with world.runtime.db.connect() as conn:
            refused = (await conn.execute(sa.select(mail_log.c.last_error))).scalar_one()
        assert refused["code"] == 450
        world.runtime.clock.advance(3600)  # type: ignore[attr-defined]
        await world.drain()
        # a permanent refusal of another mail quoting the address: failed, with an ops event
        world.sink.rcpt_replies.append("550 5.1.1 <{address}>: no such user")
        customer = await world.customer()
        await world.subscribe(customer, await world.price())
        await world.drain()

        assert len(world.sink.messages) == 1
        assert PLANTED_EMAIL in world.sink.messages[0].decode()  # it did reach the server
        async with world.runtime.db.connect() as conn:
            rows = [dict(row) for row in (await conn.execute(sa.select(mail_log))).mappings()]
            job_rows = [dict(row) for row in (await conn.execute(sa.select(jobs))).mappings()]
        assert sorted(row["state"] for row in rows) == ["failed", "sent"]
        assert [meta["reason"] for name, meta in ops_events if name == "mail.failed"] == ["refused"]
        assert outcomes_since(before) == {("receipt", "sent"): 1, ("receipt", "failed"): 1}

        runner = CliRunner()
        env = {"DATABASE_URL": db_url, "REMIT_LOG_LEVEL": "DEBUG"}
        listed = await asyncio.to_thread(runner.invoke, cli, ["mail", "list", "--json"], env=env)
        assert listed.exit_code == 0, listed.output
        shown = [
            await asyncio.to_thread(runner.invoke, cli, ["mail", "show", str(row["id"]), "--json"], env=env)
            for row in rows
        ]
        assert all(result.exit_code == 0 for result in shown)

    surfaces = {
        "logs": "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records if _shown(record)),
        "ops events": json.dumps(ops_events),
        "mail log": json.dumps(rows, default=str),
        "jobs": json.dumps(job_rows, default=str),
        "mail list": listed.output,
        "mail show": "".join(result.output for result in shown),
    }
    for surface, text in surfaces.items():
        for secret in (PLANTED_EMAIL, "ada.lovelace", PLANTED_NAME):
            assert secret not in text, f"{secret!r} reached the {surface}"
    assert invoice_id in surfaces["mail list"]  # identifiers are shown
