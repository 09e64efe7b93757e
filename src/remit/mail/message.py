"""Building the message itself: headers, a plain-text and an HTML part, attachments (pure).

The ``Message-ID`` is derived from the mail's idempotency key, so every copy of one mail — including the one
duplicate a crash after the hand-over can cause — carries the same id, and mail systems that collapse
duplicates by ``Message-ID`` show one. ``Auto-Submitted: auto-generated`` (RFC 3834) keeps vacation
responders from answering.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

#: The domain of Message-IDs when the sender's address has none worth using.
FALLBACK_DOMAIN = "remit.invalid"


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


def message_id_for(key: str, sender: str) -> str:
    """``<digest-of-key@sender-domain>``: stable for one mail, unique across mails."""
    _local, at, domain = parseaddr(sender)[1].rpartition("@")
    domain = domain.strip().lower()
    if not at or not domain or not all(c.isalnum() or c in ".-" for c in domain):
        domain = FALLBACK_DOMAIN
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}.remit@{domain}>"


def build_message(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    message_id: str,
    date: datetime,
    reply_to: str | None = None,
    attachments: tuple[Attachment, ...] = (),
) -> EmailMessage:
    """One finished message: ``multipart/alternative`` (text, then HTML), inside ``multipart/mixed`` when
    there are attachments."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return message


__all__ = ["FALLBACK_DOMAIN", "Attachment", "build_message", "message_id_for"]
