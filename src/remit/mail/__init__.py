"""Transactional mail, sent exactly once per business event (with one documented duplicate window).

Modules: ``kinds`` (the mails, the events that owe them, their idempotency keys; pure), ``log`` (the mail
log, its state machine and statements), ``jobs`` (the send job on ``remit_mailers``, :func:`request_mail` —
the API other parts call — and the periodic requeue), ``sending`` (one attempt: build, claim, hand over,
record), ``content`` (what a mail says and to whom, from the mirror), ``templates`` (Jinja2: subject, text and
HTML per kind, host overrides by path), ``message`` (the RFC 5322 message; pure), ``mailer`` (the port and the
in-memory mailer), ``smtp`` (aiosmtplib), ``outbox`` (the development outbox), ``transport`` (which mailer a
runtime uses), ``handlers`` (owe the mail a processor event is about). See ``docs/mail.md``.

:data:`PART` declares what the mail part brings to a runtime — its send job, its handler for processor events
(run after the mirror and the documents part's), the periodic task that requeues a stranded mail, and the
mail log's state machine — and :mod:`remit.parts` composes it. Importing the package registers nothing.
"""

from remit.mail.handlers import MAIL_EVENT_TYPES, MAIL_HANDLER, owe_mail
from remit.mail.jobs import REQUEUE_TASK, SEND_JOB, request_mail, send_mail
from remit.mail.kinds import Audience, MailKind, MailRequest, mail_for_event, mail_key
from remit.mail.log import MAIL_STATES, MAX_DELIVERIES, MailRecord, MailState
from remit.mail.mailer import InMemoryMailer, Mailer, MailOutcomeUnknown, MailRefused
from remit.mail.transport import mailer_for, use_mailer
from remit.part import Part

PART = Part(
    name="mail",
    jobs=(send_mail,),
    periodic=(REQUEUE_TASK,),
    event_handlers=(MAIL_HANDLER,),
    state_machines=(MAIL_STATES,),
)

__all__ = [
    "MAIL_EVENT_TYPES",
    "MAIL_HANDLER",
    "MAIL_STATES",
    "MAX_DELIVERIES",
    "PART",
    "REQUEUE_TASK",
    "SEND_JOB",
    "Audience",
    "InMemoryMailer",
    "MailKind",
    "MailOutcomeUnknown",
    "MailRecord",
    "MailRefused",
    "MailRequest",
    "MailState",
    "Mailer",
    "mail_for_event",
    "mail_key",
    "mailer_for",
    "owe_mail",
    "request_mail",
    "send_mail",
    "use_mailer",
]
