"""Transactional mail, sent exactly once per business event (with one documented duplicate window).

Modules: ``kinds`` (the mails, the events that owe them, their idempotency keys; pure), ``log`` (the mail
log, its state machine and statements), ``jobs`` (the send job on ``remit_mailers`` and :func:`request_mail`,
the API other parts call), ``sending`` (one attempt: build, claim, hand over, record), ``content`` (what a
mail says and to whom, from the mirror), ``templates`` (Jinja2: subject, text and HTML per kind, host
overrides by path), ``message`` (the RFC 5322 message; pure), ``mailer`` (the port and the in-memory
mailer), ``smtp`` (aiosmtplib), ``outbox`` (the development outbox), ``handlers`` (owe the mail a
processor event is about). See ``docs/mail.md``.

:data:`HANDLERS` are the part's handlers for processor events as ``(patterns, function, name)``; they run
after the mirror and the documents part's.
"""

from remit.mail.handlers import MAIL_EVENT_TYPES, MAIL_HANDLER, owe_mail
from remit.mail.jobs import SEND_JOB, request_mail, send_mail
from remit.mail.kinds import Audience, MailKind, MailRequest, mail_for_event, mail_key
from remit.mail.log import MAX_DELIVERIES, MailRecord, MailState
from remit.mail.mailer import InMemoryMailer, Mailer, MailOutcomeUnknown, MailRefused, mailer_for, use_mailer

HANDLERS = [(MAIL_EVENT_TYPES, owe_mail, MAIL_HANDLER)]

__all__ = [
    "HANDLERS",
    "MAIL_EVENT_TYPES",
    "MAIL_HANDLER",
    "MAX_DELIVERIES",
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
