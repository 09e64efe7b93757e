"""Scripted failures: "the next N calls (optionally of one method) answer 429, 500, 401, or time out".

A script is a row in ``remit_fake_failures``; each call of the fake, from any process and through either face,
consumes one matching row before it does anything, so the failure is decided before any state changes and a
retry (with the same idempotency key) then succeeds, as with a real transient outage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db.tables.fake import fake_failures

DEFAULT_RETRY_AFTER = 1
DEFAULT_HOLD_SECONDS = 30.0


class FailureKind(StrEnum):
    RATE_LIMITED = "429"
    SERVER_ERROR = "500"
    TIMEOUT = "timeout"
    #: Stripe's answer to an expired API key (``api_key_expired``).
    EXPIRED_KEY = "401"

    @classmethod
    def parse(cls, text: str) -> FailureKind:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValueError("failure must be 429, 500, 401 or timeout") from None


@dataclass(frozen=True, slots=True)
class ScriptedFailure:
    id: int
    method: str | None
    kind: FailureKind
    remaining: int
    retry_after: int | None
    hold_seconds: float | None

    @classmethod
    def from_row(cls, row: Any) -> ScriptedFailure:
        return cls(
            id=int(row.id),
            method=row.method,
            kind=FailureKind(row.kind),
            remaining=int(row.remaining),
            retry_after=row.retry_after,
            hold_seconds=row.hold_seconds,
        )


async def script(
    conn: AsyncConnection,
    kind: FailureKind,
    *,
    count: int = 1,
    method: str | None = None,
    retry_after: int | None = None,
    hold_seconds: float | None = None,
    now: datetime,
) -> ScriptedFailure:
    """Make the next ``count`` calls (of ``method``, or of any method) fail with ``kind``."""
    if count < 1:
        raise ValueError("count must be at least 1")
    if kind is FailureKind.RATE_LIMITED and retry_after is None:
        retry_after = DEFAULT_RETRY_AFTER
    if kind is FailureKind.TIMEOUT and hold_seconds is None:
        hold_seconds = DEFAULT_HOLD_SECONDS
    row = (
        await conn.execute(
            fake_failures.insert()
            .values(
                method=method,
                kind=kind.value,
                remaining=count,
                retry_after=retry_after,
                hold_seconds=hold_seconds,
                created_at=now,
            )
            .returning(fake_failures)
        )
    ).one()
    return ScriptedFailure.from_row(row)


def _oldest_for(method: str) -> sa.Select[tuple[int]]:
    return (
        sa.select(fake_failures.c.id)
        .where(fake_failures.c.remaining > 0)
        .where(sa.or_(fake_failures.c.method.is_(None), fake_failures.c.method == method))
        .order_by(fake_failures.c.id)
        .limit(1)
    )


async def is_due(conn: AsyncConnection, method: str) -> bool:
    """Whether a call of ``method`` now would consume a scripted failure (a read: it changes nothing)."""
    return (await conn.execute(_oldest_for(method))).first() is not None


async def consume(conn: AsyncConnection, method: str) -> ScriptedFailure | None:
    """Take one failure for a call of ``method``: the oldest script for that method or for any method.

    Looks before it writes, so a call with nothing scripted for it writes nothing (a read-only call of the fake
    then runs in a read-only transaction, see :meth:`remit.db.engine.Database.read`)."""
    if not await is_due(conn, method):
        return None
    row = (
        await conn.execute(
            fake_failures.update()
            .where(fake_failures.c.id == _oldest_for(method).scalar_subquery())
            .where(fake_failures.c.remaining > 0)
            .values(remaining=fake_failures.c.remaining - 1)
            .returning(fake_failures)
        )
    ).first()
    if row is None:
        return None
    await conn.execute(fake_failures.delete().where(fake_failures.c.remaining <= 0))
    return ScriptedFailure.from_row(row)


async def pending(conn: AsyncConnection) -> list[ScriptedFailure]:
    rows = (await conn.execute(sa.select(fake_failures).order_by(fake_failures.c.id))).all()
    return [ScriptedFailure.from_row(row) for row in rows]


async def clear(conn: AsyncConnection) -> int:
    result = await conn.execute(fake_failures.delete())
    return int(result.rowcount or 0)


__all__ = [
    "DEFAULT_HOLD_SECONDS",
    "DEFAULT_RETRY_AFTER",
    "FailureKind",
    "ScriptedFailure",
    "clear",
    "consume",
    "is_due",
    "pending",
    "script",
]
