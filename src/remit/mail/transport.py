"""Which mailer a runtime sends through: SMTP when ``REMIT_SMTP_URL`` is set, else the development outbox —
unless a host or a test chose one (:func:`use_mailer`: an in-memory mailer, a provider's API)."""

from __future__ import annotations

from remit.mail.mailer import Mailer
from remit.mail.outbox import OutboxMailer
from remit.mail.smtp import SmtpMailer
from remit.runtime import Runtime

#: Where a runtime keeps its mailer (:attr:`Runtime.extensions`).
MAILER = "mail.mailer"


def mailer_for(runtime: Runtime) -> Mailer:
    """The runtime's mailer, built on first use from its settings."""
    existing = runtime.extensions.get(MAILER)
    if existing is not None:
        return existing  # type: ignore[return-value]
    target = runtime.settings.smtp
    built: Mailer = SmtpMailer(target) if target is not None else OutboxMailer(runtime.db, runtime.clock)
    runtime.extensions[MAILER] = built
    return built


def use_mailer(runtime: Runtime, mailer: Mailer) -> None:
    """Send this runtime's mail through ``mailer``."""
    runtime.extensions[MAILER] = mailer


__all__ = ["MAILER", "mailer_for", "use_mailer"]
