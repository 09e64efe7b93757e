"""The send job on ``remit_mailers``, :func:`request_mail` — the one way any part of remit owes a mail — and the
periodic task that gives a stranded mail its job back.

::

    from remit.mail import MailKind, MailRequest, request_mail

    async with runtime.db.begin() as conn:                     # the caller's own transaction
        await request_mail(conn, MailRequest(
            MailKind.CARD_EXPIRING, "pm_123", occurrence="2027-01:7",
            customer_id="cus_1", params={"days": 7}))

The request is one row in the mail log, unique on its key, and its send job, both in the caller's
transaction: a mail is owed if and only if the caller's work commits, and owing it again (a replayed
webhook, a task that runs twice) inserts nothing. The job sends it (:func:`remit.mail.sending.deliver`).
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.audit import record
from remit.db.tables import mail_log
from remit.db.transactions import within
from remit.jobs.context import JobContext, PeriodicContext
from remit.jobs.definition import UniqueBy, job
from remit.jobs.retry import Backoff
from remit.jobs.rows import JobRequest
from remit.mail.kinds import MailRequest
from remit.mail.log import MailRecord, MailState, insert_mail, reopen
from remit.mail.message import message_id_for
from remit.mail.sending import deliver, fail_on_discard
from remit.periodic import Counts, Cron, PeriodicTask
from remit.processor.calls import processor_call
from remit.runtime import Runtime, runtime_of

SEND_JOB = "remit.mail.send"
#: 30 s, 1 min, 2 min … capped at 1 h, ±20 %: twelve attempts span about six hours of an SMTP outage.
SEND_BACKOFF = Backoff(base=30.0, factor=2.0, cap=3600.0, jitter=0.2)
SEND_ATTEMPTS = 12
#: The periodic task's name: its metric label, its row in ``remit schedule list``.
REQUEUE_TASK_NAME = "mail.requeue"
#: A mail unfinished for this long is checked for a send job.
STRANDED_AFTER = timedelta(minutes=15)
REQUEUE_BATCH = 500


@job(
    queue="remit_mailers",
    name=SEND_JOB,
    max_attempts=SEND_ATTEMPTS,
    backoff=SEND_BACKOFF,
    timeout=120.0,
    unique=UniqueBy("mail_id"),
    on_discard=[fail_on_discard],
)
async def send_mail(ctx: JobContext[Runtime], mail_id: int) -> None:
    """Send logged mail ``mail_id`` (one attempt). The processor is asked only for a customer the mirror lacks,
    before anything is claimed: a 429 snoozes the job, expired credentials pause its queue
    (:func:`~remit.processor.calls.processor_call`)."""
    async with processor_call(ctx, "mail"):
        await deliver(ctx.app, mail_id)


async def enqueue_send(conn: AsyncConnection, runtime: Runtime, mail_id: int) -> int | None:
    """Queue the sending of a logged mail in the caller's transaction; None when one is already pending."""
    return await runtime.engine.enqueue(conn, send_mail, {"mail_id": mail_id})


async def request_mail(conn: AsyncConnection, request: MailRequest) -> int | None:
    """Owe the mail ``request`` describes, once, in ``conn``'s transaction (see the module docs): the new
    mail's id, or None when a mail with its key is already owed or sent. ``conn`` is one of the runtime's
    connections, where the runtime is found (:func:`~remit.runtime.runtime_of`); on one with no open
    transaction the mail is owed at once (:func:`remit.db.transactions.within`)."""
    runtime = runtime_of(conn)
    message_id = message_id_for(request.key, runtime.settings.mail_sender)
    async with within(conn):
        mail_id = await insert_mail(conn, request, message_id, runtime.clock.now())
        if mail_id is not None:
            await enqueue_send(conn, runtime, mail_id)
    return mail_id


async def retry_mail(runtime: Runtime, mail_id: int, *, actor: str) -> MailRecord | None:
    """An operator's retry of a ``failed`` or ``skipped`` mail: back to ``pending`` (deliveries reset, so an
    ``unconfirmed`` mail may now arrive twice) with a new send job, audited; None when it is in neither
    state."""
    now = runtime.clock.now()
    async with runtime.db.begin() as conn:
        mail = await reopen(conn, mail_id, now)
        if mail is None:
            return None
        await enqueue_send(conn, runtime, mail_id)
        await record(conn, at=now, actor=actor, action="mail.retry", subject=f"mail:{mail_id}", details={})
    return mail


async def requeue_stranded(ctx: PeriodicContext[object]) -> Counts:
    """Give every mail left ``pending`` or ``sending`` for :data:`STRANDED_AFTER` a send job, unless one is
    pending: the unique key makes that a no-op for a mail waiting on its retry, so only a mail whose job is
    gone (an operator cancelled it) gets a new one. It needs the engine only, not the runtime."""
    cutoff = ctx.clock.now() - STRANDED_AFTER
    query = (
        sa.select(mail_log.c.id)
        .where(
            mail_log.c.state.in_([MailState.PENDING.value, MailState.SENDING.value]),
            mail_log.c.updated_at < cutoff,
        )
        .order_by(mail_log.c.id)
        .limit(REQUEUE_BATCH)
    )
    async with ctx.db.begin() as conn:
        ids = [row.id for row in await conn.execute(query)]
        queued = await ctx.engine.enqueue_many(conn, [JobRequest(send_mail, {"mail_id": i}) for i in ids])
    return {"unfinished": len(ids), "requeued": len(queued)}


#: Every ten minutes, leader only, inline (one cheap statement and a batch insert).
REQUEUE_TASK: PeriodicTask[PeriodicContext[object]] = PeriodicTask(
    REQUEUE_TASK_NAME, Cron("*/10 * * * *"), requeue_stranded
)

__all__ = [
    "REQUEUE_TASK",
    "REQUEUE_TASK_NAME",
    "SEND_ATTEMPTS",
    "SEND_BACKOFF",
    "SEND_JOB",
    "STRANDED_AFTER",
    "enqueue_send",
    "request_mail",
    "requeue_stranded",
    "retry_mail",
    "send_mail",
]
