"""The development outbox: with no SMTP server configured, mail is kept whole and shown by ``remit mail``."""

from __future__ import annotations

import asyncio
import json
from email import policy
from email.parser import BytesParser
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from remit.cli import app as cli
from remit.db.tables import audit_log, jobs, mail_log, mail_outbox
from remit.mail.transport import mailer_for
from tests.support.mail import PLANTED_EMAIL, PLANTED_NAME, mail_world


async def test_outbox_mail_is_listed_shown_and_written_as_eml(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"DATABASE_URL": db_url}

    def remit(*args: str) -> str:
        result = runner.invoke(cli, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.output

    async with mail_world(db_url, smtp=False) as world:
        assert mailer_for(world.runtime).name == "outbox"
        invoice_id = await world.paid_invoice()
        async with world.runtime.db.connect() as conn:
            stored = (await conn.execute(sa.select(mail_outbox))).mappings().all()
            receipt = (await conn.execute(sa.select(mail_log))).mappings().one()
        assert len(stored) == 1
        assert (receipt["state"], receipt["transport"]) == ("sent", "outbox")

        listed = json.loads(await asyncio.to_thread(remit, "mail", "list", "--json"))
        assert [(row["kind"], row["subject_id"], row["state"]) for row in listed] == [("receipt", invoice_id, "sent")]
        table = await asyncio.to_thread(remit, "mail", "list")
        assert "receipt" in table
        assert PLANTED_EMAIL not in table

        mail_id = str(receipt["id"])
        shown = json.loads(await asyncio.to_thread(remit, "mail", "show", mail_id, "--json"))
        parts = shown["message"]["parts"]
        assert [part["content_type"] for part in parts] == ["text/plain", "text/html", "application/pdf"]
        assert parts[2]["filename"].endswith(".pdf")
        assert "subject" not in shown["message"]
        assert PLANTED_EMAIL not in json.dumps(shown)

        assert PLANTED_NAME not in json.dumps(shown)

        plain = await asyncio.to_thread(remit, "mail", "show", mail_id)
        assert "part: application/pdf invoice-" in plain
        assert "subject:" not in plain
        assert PLANTED_NAME not in plain
        assert PLANTED_EMAIL not in plain
        # The subject and text are never printed (they hold the name): --body is refused, naming --eml.
        for args in (["--body"], ["--body", "--json"]):
            body = await asyncio.to_thread(runner.invoke, cli, ["mail", "show", mail_id, *args], env=env)
            assert body.exit_code == 2
            assert f"remit mail show {mail_id} --eml mail-{mail_id}.eml" in body.output
            assert PLANTED_NAME not in body.output

        eml = tmp_path / "receipt.eml"
        written = await asyncio.to_thread(remit, "mail", "show", mail_id, "--eml", str(eml))
        assert PLANTED_NAME not in written
        message = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
        assert message["To"] == PLANTED_EMAIL
        assert f"Hello {PLANTED_NAME}," in message.get_body(preferencelist=("plain",)).get_content()
        attachment = next(iter(message.iter_attachments())).get_content()
        assert attachment.startswith(b"%PDF-")

        missing = await asyncio.to_thread(runner.invoke, cli, ["mail", "show", "999"], env=env)
        assert missing.exit_code == 1
        refused_retry = await asyncio.to_thread(runner.invoke, cli, ["mail", "retry", mail_id], env=env)
        assert refused_retry.exit_code == 1  # sent: nothing to retry
        bad_state = await asyncio.to_thread(runner.invoke, cli, ["mail", "list", "--state", "lost"], env=env)
        assert bad_state.exit_code == 2


async def test_a_skipped_mail_is_retried_by_the_operator(db_url: str) -> None:
    runner = CliRunner()
    env = {"DATABASE_URL": db_url}
    async with mail_world(db_url, smtp=False) as world:
        customer = await world.customer(email=None)
        await world.subscribe(customer, await world.price())
        await world.drain()
        await world.fake.update_customer(customer, email=PLANTED_EMAIL, idempotency_key=world.key())
        await world.drain()
        async with world.runtime.db.connect() as conn:
            receipt = (await conn.execute(sa.select(mail_log))).mappings().one()
        assert receipt["state"] == "skipped"
        result = await asyncio.to_thread(
            runner.invoke, cli, ["mail", "retry", str(receipt["id"]), "--actor", "operator:test"], env=env
        )
        assert result.exit_code == 0, result.output
        world.runtime.clock.advance(60)  # type: ignore[attr-defined]  # the CLI queued on the wall clock
        await world.drain()
        async with world.runtime.db.connect() as conn:
            receipt = (await conn.execute(sa.select(mail_log))).mappings().one()
            audited = (await conn.execute(sa.select(audit_log.c.actor, audit_log.c.action))).all()
            outbox = (await conn.execute(sa.select(sa.func.count()).select_from(mail_outbox))).scalar_one()
        assert receipt["state"] == "sent"
        assert outbox == 1
        assert ("operator:test", "mail.retry") in [tuple(row) for row in audited]


async def test_a_mail_whose_job_was_cancelled_is_requeued_by_the_periodic_task(db_url: str) -> None:
    async with mail_world(db_url, smtp=False) as world:
        runtime = world.runtime
        customer = await world.customer()
        await world.subscribe(customer, await world.price())
        await runtime.drain(["remit_webhooks"])  # dispatched: the receipt is owed and its job queued
        async with runtime.db.connect() as conn:
            [send_job] = (await conn.execute(sa.select(jobs.c.id).where(jobs.c.name == "remit.mail.send"))).all()
        assert await runtime.engine.cancel(send_job.id, actor="operator:test", reason="by mistake")
        await world.drain()  # the documents and dispatch jobs run; the receipt's job is cancelled
        async with runtime.db.connect() as conn:
            receipt = (await conn.execute(sa.select(mail_log))).mappings().one()
        assert receipt["state"] == "pending"

        early = await runtime.engine.run_periodic("mail.requeue", app=runtime, raise_errors=True)
        assert early == {"unfinished": 0, "requeued": 0}  # not stranded yet
        runtime.clock.advance(16 * 60)  # type: ignore[attr-defined]
        counts = await runtime.engine.run_periodic("mail.requeue", app=runtime, raise_errors=True)
        assert counts == {"unfinished": 1, "requeued": 1}
        again = await runtime.engine.run_periodic("mail.requeue", app=runtime, raise_errors=True)
        assert again == {"unfinished": 1, "requeued": 0}  # its job is pending now: the unique key holds
        await world.drain()
        async with runtime.db.connect() as conn:
            receipt = (await conn.execute(sa.select(mail_log))).mappings().one()
        assert receipt["state"] == "sent"
