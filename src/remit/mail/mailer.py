"""The Mailer port: hand one finished message to whatever delivers mail, and say how that went.

Three implementations: :class:`~remit.mail.smtp.SmtpMailer` (``REMIT_SMTP_URL``), the development
:class:`~remit.mail.outbox.OutboxMailer` (no SMTP configured: messages are kept in the database for ``remit
mail list|show``) and :class:`InMemoryMailer` (tests). :func:`remit.mail.transport.mailer_for` picks a
runtime's.

A mailer reports one of three outcomes, because the mail log's exactly-once rule depends on the difference:

- it returns: the server took the message;
- it raises :class:`MailRefused`: the server answered that it will not take it (an SMTP error reply, or no
  connection at all), so the message was certainly **not** delivered; ``permanent`` when retrying the same
  message cannot help (a 5xx about the message or its recipient);
- it raises anything else — :class:`MailOutcomeUnknown` from the SMTP mailer (a timeout, a dropped
  connection mid-message): the outcome is unknown.

Errors never carry the server's text, which may quote an address: a class, an SMTP code, a fixed phrase.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol

from remit.errors import RemitError


class MailRefused(RemitError):
    """The mail server refused the message: it was not delivered. ``code`` is the SMTP reply code (None
    when no connection was made); ``permanent`` when sending it again cannot succeed."""

    def __init__(self, reason: str, *, code: int | None = None, permanent: bool = False) -> None:
        self.reason = reason
        self.code = code
        self.permanent = permanent
        suffix = f" (SMTP {code})" if code is not None else ""
        super().__init__(f"the mail server refused the message: {reason}{suffix}")


class MailOutcomeUnknown(RemitError):
    """The conversation with the mail server broke off (a timeout, a dropped connection) after it may have
    taken the message: whether it was delivered is unknown. ``cause`` is the error's class name."""

    def __init__(self, cause: str) -> None:
        self.cause = cause
        super().__init__(f"the mail server conversation broke off ({cause}); the outcome is unknown")


class Mailer(Protocol):
    """Delivers finished messages. ``name`` is recorded on each mail it sent (``smtp``, ``outbox``, …)."""

    name: str

    async def send(self, message: EmailMessage) -> None:
        """Hand ``message`` over (see the module docs for the three outcomes)."""
        ...


class InMemoryMailer:
    """Keeps every message in :attr:`sent`; :meth:`refuse_next` and :meth:`break_next` script failures."""

    name = "memory"

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self._failures: list[Exception] = []

    def refuse_next(self, count: int = 1, *, code: int = 451, permanent: bool = False) -> None:
        """The next ``count`` sends are refused (not delivered)."""
        self._failures += [MailRefused("scripted refusal", code=code, permanent=permanent) for _ in range(count)]

    def break_next(self, count: int = 1) -> None:
        """The next ``count`` sends fail with an unknown outcome (and deliver nothing)."""
        self._failures += [MailOutcomeUnknown("scripted disconnect") for _ in range(count)]

    async def send(self, message: EmailMessage) -> None:
        if self._failures:
            raise self._failures.pop(0)
        self.sent.append(message)


__all__ = ["InMemoryMailer", "MailOutcomeUnknown", "MailRefused", "Mailer"]
