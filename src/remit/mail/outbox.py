"""The development outbox: with no SMTP server configured, mail is kept in the database, whole.

So ``remit demo`` shows real receipts — ``remit mail list`` lists the mail log, ``remit mail show ID`` shows
one message and ``--eml FILE`` writes it out for a mail client — in every process that shares the database,
as the fake processor's world is shared. Messages are unique on their ``Message-ID``: the copy a crash after
the hand-over makes (see :mod:`remit.mail.log`) is the same message, and the outbox keeps one.
"""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.clock import Clock
from remit.db import dialect
from remit.db.engine import Database
from remit.db.tables import mail_outbox


class OutboxMailer:
    name = "outbox"

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def send(self, message: EmailMessage) -> None:
        content = message.as_bytes(policy=policy.SMTP)
        async with self.db.begin() as conn:
            await conn.execute(
                dialect.insert(conn, mail_outbox)
                .values(
                    message_id=str(message["Message-ID"]),
                    message=content,
                    size_bytes=len(content),
                    stored_at=self.clock.now(),
                )
                .on_conflict_do_nothing(index_elements=["message_id"])
            )


def parse_message(content: bytes) -> EmailMessage:
    """A stored message, parsed."""
    parsed = BytesParser(policy=policy.default).parsebytes(content)
    assert isinstance(parsed, EmailMessage)
    return parsed


async def outbox_message(conn: AsyncConnection, message_id: str) -> bytes | None:
    """The stored message with this ``Message-ID``, as sent (RFC 5322 bytes), or None."""
    row = (await conn.execute(sa.select(mail_outbox.c.message).where(mail_outbox.c.message_id == message_id))).first()
    return None if row is None else bytes(row.message)


async def outbox_count(conn: AsyncConnection) -> int:
    return int((await conn.execute(sa.select(sa.func.count()).select_from(mail_outbox))).scalar_one())


__all__ = ["OutboxMailer", "outbox_count", "outbox_message", "parse_message"]
