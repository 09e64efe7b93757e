"""Sending one logged mail, exactly once (with the one-duplicate window :mod:`remit.mail.log` documents).

:func:`deliver` is the body of the send job. An attempt:

1. reads the row; a mail already ``sent``, ``failed`` or ``skipped`` is left alone (a replay, a retried job);
2. builds the message from the mirror as it is now (:mod:`remit.mail.content`) — a rendering error or an
   object not mirrored yet raises before anything is claimed, and the job retries; a mail with nobody to
   send it to is ``skipped``;
3. claims the row (``sending``, one more delivery) in a committed transaction — or, when it was handed to
   the server twice already without a confirmed outcome, fails it as ``unconfirmed`` instead;
4. hands the message to the mailer;
5. records ``sent`` (and, for a receipt that went out with a link because no PDF could be made, emits
   ``pdf_adapter_unavailable`` — once, since only the attempt that records ``sent`` emits it).

A refusal answered by the server moves the row back to ``pending`` (or to ``failed`` when it is permanent)
and the job retries; any other error leaves it ``sending`` for the next attempt to claim again. When the job
gives up, :func:`fail_on_discard` (its discard hook) fails the row and emits ``mail.failed``.

Each move to a final state counts once in ``remit_mail_sent_total{kind,outcome}`` (:attr:`MailRecord.outcome`),
after its transaction commits — the discard hook's, inside the engine's discarding transaction.

Logs and ops events carry the mail's id, kind and subject id: never an address, a name or a subject line.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from remit.clock import parse_instant
from remit.jobs.records import Job
from remit.mail import log as mail_log
from remit.mail.content import MailContent, mail_content
from remit.mail.log import FINISHED, MailRecord, MailState, error_record
from remit.mail.mailer import MailRefused
from remit.mail.message import build_message
from remit.mail.templates import render_mail
from remit.mail.transport import mailer_for
from remit.runtime import Runtime
from remit.telemetry import metrics, ops

log = logging.getLogger("remit.mail")


def _count(record: MailRecord | None) -> None:
    """Count a mail that reached its final state (None: another run moved it, and counted it)."""
    if record is not None and record.outcome is not None:
        metrics.mail_sent_total.labels(kind=record.kind.value, outcome=record.outcome.value).inc()


def _emit_failed(record: MailRecord, reason: str, **extra: Any) -> None:
    ops.emit(
        "mail.failed",
        mail_id=record.id,
        mail_kind=record.kind.value,
        object_id=record.subject_id,
        customer_id=record.customer_id,
        deliveries=record.deliveries,
        reason=reason,
        **extra,
    )


async def deliver(runtime: Runtime, mail_id: int) -> MailState | None:
    """Run one attempt of sending mail ``mail_id``; the state it ends in (None: no such mail)."""
    db, clock = runtime.db, runtime.clock
    async with db.connect() as conn:
        record = await mail_log.get_mail(conn, mail_id)
    if record is None:
        return None
    if record.state in FINISHED:
        return record.state

    content = await mail_content(runtime, record)
    if content.recipient is None:
        async with db.begin() as conn:
            skipped = await mail_log.skip(conn, mail_id, "no_recipient", clock.now())
        _count(skipped)
        log.info("mail skipped: no recipient", extra={"mail_id": mail_id, "mail_kind": record.kind.value})
        return skipped.state if skipped else None
    message = _message(runtime, record, content)

    async with db.begin() as conn:
        claimed = await mail_log.claim(conn, mail_id, clock.now())
        if claimed is None:
            failed = await mail_log.fail_unconfirmed(conn, mail_id, clock.now())
    if claimed is None:
        _count(failed)
        if failed is not None:
            log.warning("mail not sent again: two deliveries unconfirmed", extra={"mail_id": mail_id})
            _emit_failed(failed, "unconfirmed")
            return failed.state
        return None  # another run moved it meanwhile

    mailer = mailer_for(runtime)
    try:
        await mailer.send(message)
    except MailRefused as exc:
        error = error_record(type(exc).__name__, clock.now(), reason=exc.reason, code=exc.code)
        async with db.begin() as conn:
            if exc.permanent:
                moved = await mail_log.fail(conn, mail_id, error, clock.now(), only_from=(MailState.SENDING,))
            else:
                moved = await mail_log.release(conn, claimed, error, clock.now())
        if exc.permanent:
            _count(moved)
            if moved is not None:
                _emit_failed(moved, "refused", error_type=type(exc).__name__)
            return MailState.FAILED
        raise
    except Exception as exc:
        async with db.begin() as conn:
            await mail_log.note_error(conn, claimed, error_record(type(exc).__name__, clock.now()), clock.now())
        raise

    async with db.begin() as conn:
        sent = await _record_sent(conn, claimed, content, mailer.name, runtime)
    _count(sent)
    if sent is None:
        return None
    log.info(
        "mail sent",
        extra={
            "mail_id": mail_id,
            "mail_kind": record.kind.value,
            "transport": mailer.name,
            "deliveries": sent.deliveries,
        },
    )
    if content.pdf_problem is not None:
        ops.emit(
            "pdf_adapter_unavailable",
            mail_id=mail_id,
            mail_kind=record.kind.value,
            invoice_id=content.invoice_id,
            customer_id=record.customer_id,
            reason=content.pdf_problem,
        )
    return sent.state


async def _record_sent(
    conn: AsyncConnection, claimed: MailRecord, content: MailContent, transport: str, runtime: Runtime
) -> MailRecord | None:
    """The ``sent`` write, after the server took the message (its own function: the crash tests fail it)."""
    return await mail_log.mark_sent(
        conn, claimed, runtime.clock.now(), transport=transport, attachment=content.attachment
    )


def _message(runtime: Runtime, record: MailRecord, content: MailContent) -> Any:
    settings = runtime.settings
    rendered = render_mail(record.kind, content.context, settings.template_dir)
    assert content.recipient is not None
    return build_message(
        sender=settings.mail_sender,
        to=content.recipient,
        reply_to=settings.mail_reply_to,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=record.message_id,
        date=runtime.clock.now(),
        attachments=content.attachments,
    )


async def fail_on_discard(conn: AsyncConnection, job: Job, error: dict[str, Any]) -> None:
    """Discard hook of the send job: the mail is ``failed``; emit ``mail.failed`` (in the discarding
    transaction, so the job and the mail cannot disagree)."""
    mail_id = job.args.get("mail_id")
    if not isinstance(mail_id, int):
        return
    now = _error_time(error)
    record = await mail_log.fail(conn, mail_id, error_record(str(error.get("type") or "Error"), now), now)
    if record is not None:
        _count(record)
        _emit_failed(record, "attempts_exhausted", attempt=job.attempt, job_id=job.id)


def _error_time(error: dict[str, Any]) -> datetime:
    """When the job's last attempt failed (written on the worker's clock), else now."""
    at = error.get("at")
    if isinstance(at, str):
        try:
            return parse_instant(at)
        except ValueError:
            pass
    return datetime.now(UTC)


__all__ = ["deliver", "fail_on_discard"]
