"""The operator audit trail: who did what, when, for every operator action.

Every action an operator (or a schedule acting for one) takes on remit's state — retrying or cancelling jobs,
pausing a queue, replaying or pruning webhook events, and tomorrow re-arming a provisioning job or
hand-linking an account — appends one :func:`record` in the same transaction as the change itself, so the
trail never claims something that rolled back nor misses something that committed. Rows hold identifiers,
counts and the filter used, never customer data. :func:`entries` reads them back by subject.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db.tables import audit_log


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the trail. ``subject`` names what was acted on (``job:42``, ``queue:remit_mailers``)."""

    at: datetime
    actor: str
    action: str
    subject: str | None
    details: dict[str, Any] = field(default_factory=dict)
    note: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> AuditEntry:
        return cls(
            at=row["at"],
            actor=row["actor"],
            action=row["action"],
            subject=row["subject"],
            details=dict(row["details"] or {}),
            note=row["note"],
        )


async def record(
    conn: AsyncConnection,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str | None,
    details: Mapping[str, Any],
    note: str | None = None,
) -> None:
    """Append one line to the trail, on the caller's connection (in the transaction of the change)."""
    await conn.execute(
        sa.insert(audit_log).values(
            at=at, actor=actor, action=action, subject=subject, details=dict(details), note=note
        )
    )


async def entries(conn: AsyncConnection, *, subjects: Sequence[str]) -> list[AuditEntry]:
    """Every line about one of ``subjects``, oldest first."""
    stmt = sa.select(audit_log).where(audit_log.c.subject.in_(list(subjects))).order_by(audit_log.c.id)
    return [AuditEntry.from_row(row) for row in (await conn.execute(stmt)).mappings()]


async def recent(conn: AsyncConnection, *, limit: int = 20) -> list[AuditEntry]:
    """The newest ``limit`` lines, newest first (the admin page's trail)."""
    stmt = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    return [AuditEntry.from_row(row) for row in (await conn.execute(stmt)).mappings()]


__all__ = ["AuditEntry", "entries", "recent", "record"]
