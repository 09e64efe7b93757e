"""Sending through an SMTP server with aiosmtplib: STARTTLS or implicit TLS and AUTH, from ``REMIT_SMTP_URL``.

One connection per message (transactional mail is a trickle, and a fresh connection never inherits a broken
session). aiosmtplib's errors are sorted into the port's outcomes (:mod:`remit.mail.mailer`): a reply code
from the server, or no connection at all, is a :class:`~remit.mail.mailer.MailRefused` — the message was not
delivered; a 5xx about the sender, the recipient or the message is permanent; authentication and
connection trouble are not (the operator fixes the configuration, the job's retry sends). A timeout or a
connection dropped mid-conversation is left as it is: the outcome is unknown.
"""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from remit.config import SmtpTarget
from remit.mail.mailer import MailOutcomeUnknown, MailRefused


def refusal(exc: Exception) -> MailRefused | None:
    """The :class:`MailRefused` an aiosmtplib error means, or None when the outcome is unknown (pure)."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [error.code for error in exc.recipients]
        code = max(codes) if codes else None
        return MailRefused("recipient refused", code=code, permanent=code is not None and code >= 500)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return MailRefused("authentication failed", code=exc.code)
    if isinstance(exc, aiosmtplib.SMTPConnectError):  # refused, unreachable, or a bad greeting: nothing sent
        return MailRefused("could not connect", code=getattr(exc, "code", None))
    if isinstance(exc, (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError)):
        return MailRefused("message refused", code=exc.code, permanent=exc.code >= 500)
    if isinstance(exc, aiosmtplib.SMTPResponseException):  # HELO, STARTTLS, … answered with an error
        return MailRefused("session refused", code=exc.code)
    if isinstance(exc, aiosmtplib.SMTPNotSupported) or type(exc) is aiosmtplib.SMTPException:
        # aiosmtplib's own checks before any message is sent: STARTTLS asked for and not offered, no AUTH
        # mechanism in common — the configuration and the server disagree
        return MailRefused("the server does not support what REMIT_SMTP_URL asks for")
    return None


class SmtpMailer:
    name = "smtp"

    def __init__(self, target: SmtpTarget) -> None:
        self.target = target

    async def probe(self) -> None:
        """Open a session as a send would (TLS, AUTH) and close it, sending nothing: ``remit doctor``'s check.
        Raises :class:`MailRefused` or :class:`MailOutcomeUnknown` like :meth:`send`."""
        target = self.target
        client = aiosmtplib.SMTP(
            hostname=target.host,
            port=target.port,
            username=target.username,
            password=target.password,
            use_tls=target.tls == "implicit",
            start_tls=self._start_tls(),
            timeout=target.timeout,
        )
        try:
            await client.connect()
            await client.quit()
        except (aiosmtplib.SMTPException, OSError) as exc:
            refused = refusal(exc)
            if refused is not None:
                raise refused from None
            raise MailOutcomeUnknown(type(exc).__name__) from None
        finally:
            client.close()

    def _start_tls(self) -> bool | None:
        """aiosmtplib's ``start_tls``: required, never (TLS from the start), or when offered."""
        return {"starttls": True, "implicit": False}.get(self.target.tls)

    async def send(self, message: EmailMessage) -> None:
        target = self.target
        try:
            await aiosmtplib.send(
                message,
                hostname=target.host,
                port=target.port,
                username=target.username,
                password=target.password,
                use_tls=target.tls == "implicit",
                start_tls=self._start_tls(),
                timeout=target.timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            refused = refusal(exc)
            if refused is not None:
                raise refused from None
            raise MailOutcomeUnknown(type(exc).__name__) from None


__all__ = ["SmtpMailer", "refusal"]
