"""The mail log: one row per mail owed, its state machine, and every statement that moves it.

States and the one table of transitions (walked by ``tests/unit/test_mail_states.py``)::

    pending ──claim──▶ sending ──the server took it──▶ sent
       ▲  │              │  ▲
       │  │              │  └── claim again: the last attempt's outcome is unknown (at most once more)
       │  │              ├──▶ pending  the server refused it: certainly not delivered, try again later
       │  │              └──▶ failed   refused for good, unconfirmed twice, or the job gave up
       │  ├──▶ skipped    nobody to send it to (no address)
       │  └──▶ failed     the job gave up before a send
       └──── failed / skipped: an operator's ``remit mail retry``

**Exactly once, and the duplicate window.** A row is inserted once per key (``ON CONFLICT DO NOTHING``), so
replays and retries of the event that owes it find it there. Before the message is handed to the server the
row moves to ``sending`` and ``deliveries`` grows by one, in a committed transaction; after the server took
it the row moves to ``sent``. A crash between the two — the server has the message, the ``sent`` commit never
happened — leaves ``sending``, and the job's next attempt cannot tell whether the mail went out. It sends
again, once: a claim from ``sending`` is allowed only while ``deliveries`` < :data:`MAX_DELIVERIES` (2), so a
mail is handed to the server at most twice — at most one duplicate, and only after such a crash. A third
unconfirmed attempt moves the row to ``failed`` (``unconfirmed``) instead of sending. A refusal the server
*answered* (an SMTP error reply) proves the message was not delivered: the row goes back to ``pending`` and its
delivery is taken back. Both copies of a duplicate carry the same ``Message-ID``, which many mail systems
collapse.

Every UPDATE is one of :data:`MAIL_STATES`' guarded updates: it names the states it may move from (and, where it
matters, the ``deliveries`` its claim made), so two runs of one mail — a rescued job beside the one it
replaced — cannot both move it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db import dialect
from remit.db.tables import mail_log
from remit.errors import RemitError
from remit.mail.kinds import MailKind, MailRequest
from remit.statemachine import StateMachine

#: How many times one mail may be handed to the mail server without a confirmed outcome (so: at most one
#: duplicate).
MAX_DELIVERIES = 2


class MailState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class MailStateError(RemitError):
    """A state change the mail log's table does not allow."""


TRANSITIONS: dict[MailState, frozenset[MailState]] = {
    MailState.PENDING: frozenset({MailState.SENDING, MailState.SKIPPED, MailState.FAILED}),
    MailState.SENDING: frozenset(
        {
            MailState.SENT,  # the server accepted it
            MailState.PENDING,  # the server refused it (not delivered): try again later
            MailState.SENDING,  # claimed again after an attempt whose outcome is unknown
            MailState.FAILED,  # refused for good, unconfirmed twice, or the job gave up
        }
    ),
    MailState.SENT: frozenset(),
    MailState.FAILED: frozenset({MailState.PENDING}),  # operator retry
    MailState.SKIPPED: frozenset({MailState.PENDING}),  # operator retry (an address was added)
}
#: States a mail stays in for good unless an operator acts.
FINISHED = frozenset({MailState.SENT, MailState.FAILED, MailState.SKIPPED})

#: The mail log's state machine: every state change below is one of its guarded updates.
MAIL_STATES = StateMachine("mail", MailState, TRANSITIONS, terminal=FINISHED, error=MailStateError)


def check_transition(source: MailState, target: MailState) -> None:
    """Raise :class:`MailStateError` for a change the table does not allow."""
    MAIL_STATES.check(source, target)


def sources_of(target: MailState) -> list[str]:
    """The stored states an UPDATE to ``target`` may match (sorted, for a stable statement)."""
    return MAIL_STATES.source_values(target)


class MailOutcome(StrEnum):
    """How a mail ended, for ``remit_mail_sent_total``: its final state, with ``sent`` split by whether the
    duplicate window opened (the server took it on a second hand-over after one whose outcome was unknown)."""

    SENT = "sent"
    DUPLICATE_WINDOW = "duplicate_window"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class MailRecord:
    """One row of the mail log. It holds no address and no name: nothing here is personal data."""

    id: int
    key: str
    kind: MailKind
    state: MailState
    subject_id: str
    customer_id: str | None
    params: dict[str, Any]
    message_id: str
    deliveries: int
    transport: str | None
    attachment: str | None
    last_error: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    sending_at: datetime | None
    sent_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> MailRecord:
        return cls(
            id=int(row["id"]),
            key=row["key"],
            kind=MailKind(row["kind"]),
            state=MailState(row["state"]),
            subject_id=row["subject_id"],
            customer_id=row["customer_id"],
            params=dict(row["params"] or {}),
            message_id=row["message_id"],
            deliveries=int(row["deliveries"]),
            transport=row["transport"],
            attachment=row["attachment"],
            last_error=dict(row["last_error"]) if row["last_error"] else None,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            sending_at=row["sending_at"],
            sent_at=row["sent_at"],
        )

    @property
    def outcome(self) -> MailOutcome | None:
        """How this mail ended; None while it is still ``pending`` or ``sending``."""
        if self.state is MailState.SENT:
            return MailOutcome.DUPLICATE_WINDOW if self.deliveries > 1 else MailOutcome.SENT
        if self.state is MailState.FAILED:
            return MailOutcome.FAILED
        if self.state is MailState.SKIPPED:
            return MailOutcome.SKIPPED
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "kind": self.kind.value,
            "state": self.state.value,
            "subject_id": self.subject_id,
            "customer_id": self.customer_id,
            "params": self.params,
            "message_id": self.message_id,
            "deliveries": self.deliveries,
            "transport": self.transport,
            "attachment": self.attachment,
            "last_error": self.last_error,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "sending_at": self.sending_at.isoformat() if self.sending_at else None,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
        }


def error_record(
    error_type: str, at: datetime, *, reason: str | None = None, code: int | None = None
) -> dict[str, Any]:
    """What the log keeps of a failure: a type, a fixed reason, an SMTP code — never the server's text, which
    may quote the recipient's address."""
    return {"type": error_type, "reason": reason, "code": code, "at": at.isoformat()}


async def insert_mail(conn: AsyncConnection, request: MailRequest, message_id: str, now: datetime) -> int | None:
    """Put ``request`` in the log unless its key is there already; the new row's id, or None."""
    values = {
        "key": request.key,
        "kind": request.kind.value,
        "state": MailState.PENDING.value,
        "subject_id": request.subject_id,
        "customer_id": request.customer_id,
        "params": dict(request.params),
        "message_id": message_id,
        "deliveries": 0,
        "created_at": now,
        "updated_at": now,
    }
    statement = (
        dialect.insert(conn, mail_log)
        .values(values)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(mail_log.c.id)
    )
    return (await conn.execute(statement)).scalar_one_or_none()


async def get_mail(conn: AsyncConnection, mail_id: int) -> MailRecord | None:
    row = (await conn.execute(sa.select(mail_log).where(mail_log.c.id == mail_id))).mappings().first()
    return None if row is None else MailRecord.from_row(row)


async def get_mail_by_key(conn: AsyncConnection, key: str) -> MailRecord | None:
    row = (await conn.execute(sa.select(mail_log).where(mail_log.c.key == key))).mappings().first()
    return None if row is None else MailRecord.from_row(row)


async def list_mail(
    conn: AsyncConnection,
    *,
    states: Sequence[MailState] = (),
    kinds: Sequence[MailKind] = (),
    customer_id: str | None = None,
    limit: int = 50,
) -> list[MailRecord]:
    """Mail, newest first."""
    query = sa.select(mail_log).order_by(mail_log.c.id.desc()).limit(limit)
    if states:
        query = query.where(mail_log.c.state.in_([s.value for s in states]))
    if kinds:
        query = query.where(mail_log.c.kind.in_([k.value for k in kinds]))
    if customer_id is not None:
        query = query.where(mail_log.c.customer_id == customer_id)
    return [MailRecord.from_row(row) for row in (await conn.execute(query)).mappings()]


async def _move(
    conn: AsyncConnection,
    mail_id: int,
    target: MailState,
    *where: Any,
    only_from: Sequence[MailState] | None = None,
    **values: Any,
) -> MailRecord | None:
    """Move one row to ``target`` from the states the table allows (or ``only_from``, each checked); the row
    as moved, or None when it was in no such state (someone else moved it first)."""
    statement = MAIL_STATES.update(mail_log, target, mail_log.c.id == mail_id, *where, only_from=only_from, **values)
    row = (await conn.execute(statement.returning(*mail_log.c))).mappings().first()
    return None if row is None else MailRecord.from_row(row)


async def claim(conn: AsyncConnection, mail_id: int, now: datetime) -> MailRecord | None:
    """``pending``/``sending`` → ``sending`` with one more delivery, while fewer than :data:`MAX_DELIVERIES`
    were made: the right to hand the message to the server. None when the row may not be sent now."""
    return await _move(
        conn,
        mail_id,
        MailState.SENDING,
        mail_log.c.deliveries < MAX_DELIVERIES,
        only_from=(MailState.PENDING, MailState.SENDING),
        deliveries=mail_log.c.deliveries + 1,
        sending_at=now,
        updated_at=now,
    )


async def mark_sent(
    conn: AsyncConnection, claimed: MailRecord, now: datetime, *, transport: str, attachment: str | None
) -> MailRecord | None:
    """``sending`` → ``sent`` for the claim ``claimed`` (matched by its delivery count)."""
    return await _move(
        conn,
        claimed.id,
        MailState.SENT,
        mail_log.c.deliveries == claimed.deliveries,
        only_from=(MailState.SENDING,),
        sent_at=now,
        updated_at=now,
        transport=transport,
        attachment=attachment,
        last_error=None,
    )


async def release(
    conn: AsyncConnection, claimed: MailRecord, error: dict[str, Any], now: datetime
) -> MailRecord | None:
    """``sending`` → ``pending`` after the server refused the message: that delivery did not happen, so it is
    taken back (only for the claim that made it)."""
    return await _move(
        conn,
        claimed.id,
        MailState.PENDING,
        mail_log.c.deliveries == claimed.deliveries,
        only_from=(MailState.SENDING,),
        deliveries=mail_log.c.deliveries - 1,
        last_error=error,
        updated_at=now,
    )


async def note_error(conn: AsyncConnection, claimed: MailRecord, error: dict[str, Any], now: datetime) -> None:
    """Record an attempt whose outcome is unknown, leaving the row ``sending`` (its delivery counts)."""
    await conn.execute(
        sa.update(mail_log)
        .where(
            mail_log.c.id == claimed.id,
            mail_log.c.state == MailState.SENDING.value,
            mail_log.c.deliveries == claimed.deliveries,
        )
        .values(last_error=error, updated_at=now)
    )


async def fail(
    conn: AsyncConnection,
    mail_id: int,
    error: dict[str, Any],
    now: datetime,
    *,
    only_from: Sequence[MailState] | None = None,
) -> MailRecord | None:
    """→ ``failed`` (from ``pending`` or ``sending`` unless narrowed by ``only_from``)."""
    return await _move(conn, mail_id, MailState.FAILED, only_from=only_from, last_error=error, updated_at=now)


async def fail_unconfirmed(conn: AsyncConnection, mail_id: int, now: datetime) -> MailRecord | None:
    """→ ``failed`` with reason ``unconfirmed``: the mail was handed to the server :data:`MAX_DELIVERIES`
    times without a confirmed outcome, and is not sent again (the duplicate bound)."""
    return await _move(
        conn,
        mail_id,
        MailState.FAILED,
        mail_log.c.deliveries >= MAX_DELIVERIES,
        only_from=(MailState.PENDING, MailState.SENDING),
        last_error=error_record("Unconfirmed", now, reason="unconfirmed"),
        updated_at=now,
    )


async def skip(conn: AsyncConnection, mail_id: int, reason: str, now: datetime) -> MailRecord | None:
    """``pending`` → ``skipped``: there is nobody to send it to (``reason`` is a fixed phrase)."""
    return await _move(
        conn,
        mail_id,
        MailState.SKIPPED,
        last_error=error_record("Skipped", now, reason=reason),
        updated_at=now,
    )


async def reopen(conn: AsyncConnection, mail_id: int, now: datetime) -> MailRecord | None:
    """``failed``/``skipped`` → ``pending`` (an operator's retry), its delivery count reset: whoever retries
    an ``unconfirmed`` mail accepts that it may arrive twice."""
    return await _move(
        conn, mail_id, MailState.PENDING, only_from=(MailState.FAILED, MailState.SKIPPED), deliveries=0, updated_at=now
    )


__all__ = [
    "FINISHED",
    "MAIL_STATES",
    "MAX_DELIVERIES",
    "TRANSITIONS",
    "MailOutcome",
    "MailRecord",
    "MailState",
    "MailStateError",
    "check_transition",
    "claim",
    "error_record",
    "fail",
    "fail_unconfirmed",
    "get_mail",
    "get_mail_by_key",
    "insert_mail",
    "list_mail",
    "mark_sent",
    "note_error",
    "release",
    "reopen",
    "skip",
    "sources_of",
]
