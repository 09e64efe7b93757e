"""The rows of ``remit_billing_actions``: claiming an idempotency key, recording its outcome, reading it back.

Every write is guarded so a repeat never runs an action twice:

- :func:`claim` is ``INSERT … ON CONFLICT (idempotency_key) DO NOTHING``: of two callers with one key, one
  inserts. On PostgreSQL the other's insert waits on the unique index until the first transaction ends, then
  finds the row (or, if that transaction rolled back, inserts it); SQLite runs one writer at a time.
- :func:`take_over` re-claims a ``running`` row whose claim is older than the lease (its caller died between
  the processor's answer and recording it) with an UPDATE that re-checks the claim it read, so one caller wins.
- :func:`finish` and :func:`release` touch only a ``running`` row with the claim they hold; :func:`finish`
  moves it through :data:`ACTION_STATES`, whose guarded UPDATE matches only the states allowed to move.

A session's outcome holds its URL and client secret: :func:`finish` sets ``secrets_expire_at``
(:data:`SESSION_SECRETS_TTL` on) for it, after which a repeat is told the session expired, and
:mod:`remit.billing.action_retention` blanks them (:func:`redacted`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db import dialect
from remit.db.tables import billing_actions
from remit.errors import RemitError
from remit.statemachine import StateMachine

T = billing_actions


#: The actions whose outcome is a session with a URL (and, for an embedded checkout, a client secret).
SESSION_ACTIONS = frozenset({"create_checkout_session", "create_portal_session"})
#: The fields of a session that let someone act as the customer: blanked once the session expired.
SECRET_FIELDS = ("url", "client_secret")
#: How long a session's secrets are kept: a checkout session expires within 24 h of its creation (Stripe's
#: longest ``expires_at``), a portal session sooner, so by then the URL opens nothing.
SESSION_SECRETS_TTL = timedelta(hours=24)


def redacted(result: Mapping[str, Any]) -> dict[str, Any]:
    """``result`` with its :data:`SECRET_FIELDS` set to None (pure; fields it lacks stay absent)."""
    return {key: (None if key in SECRET_FIELDS else value) for key, value in result.items()}


def _epoch(value: object) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return None


def secrets_expire_at(action: str, now: datetime, result: Mapping[str, Any]) -> datetime | None:
    """When the stored outcome ``result`` of ``action``, recorded at ``now``, stops holding live secrets (pure;
    None: it holds none): :data:`SESSION_SECRETS_TTL` after the session was created (``created``, else ``now``),
    or a checkout session's own ``expires_at`` when that is sooner."""
    if action not in SESSION_ACTIONS:
        return None
    created = _epoch(result.get("created"))
    candidates = [(min(created, now) if created else now) + SESSION_SECRETS_TTL]
    expires = _epoch(result.get("expires_at"))
    if expires is not None:
        candidates.append(expires)
    return min(candidates)


class ActionStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ActionStateError(RemitError):
    """A change of a key's status the table does not allow."""


#: A key is claimed ``running`` and ends ``succeeded`` (the processor's answer) or ``failed`` (its refusal, or
#: ``outcome_unknown``); a claim given back (:func:`release`) is deleted, and a stale one taken over
#: (:func:`take_over`) stays ``running`` with a new claim.
ACTION_STATES = StateMachine(
    "billing_action",
    ActionStatus,
    {
        ActionStatus.RUNNING: {ActionStatus.SUCCEEDED, ActionStatus.FAILED},
        ActionStatus.SUCCEEDED: set(),
        ActionStatus.FAILED: set(),
    },
    terminal=frozenset({ActionStatus.SUCCEEDED, ActionStatus.FAILED}),
    error=ActionStateError,
)


def fingerprint(action: str, request: Mapping[str, Any]) -> str:
    """The hash of one request (pure): a key reused for another request is told apart by it."""
    text = json.dumps([action, request], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ActionRecord:
    id: int
    idempotency_key: str
    action: str
    fingerprint: str
    status: ActionStatus
    processor: str
    account_id: str | None
    customer_id: str | None
    object_id: str | None
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    attempts: int
    claimed_at: datetime
    #: When the key was first claimed, hence about when the processor first saw it.
    created_at: datetime
    secrets_expire_at: datetime | None = None
    redacted_at: datetime | None = None

    def session_expired(self, now: datetime) -> bool:
        """Whether this is a session whose URL and client secret are dead (or already blanked) at ``now``."""
        return self.redacted_at is not None or (self.secrets_expire_at is not None and self.secrets_expire_at <= now)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> ActionRecord:
        return cls(
            id=int(row["id"]),
            idempotency_key=row["idempotency_key"],
            action=row["action"],
            fingerprint=row["fingerprint"],
            status=ActionStatus(row["status"]),
            processor=row["processor"],
            account_id=row["account_id"],
            customer_id=row["customer_id"],
            object_id=row["object_id"],
            result=dict(row["result"]) if row["result"] is not None else None,
            error=dict(row["error"]) if row["error"] is not None else None,
            attempts=int(row["attempts"]),
            claimed_at=row["claimed_at"],
            created_at=row["created_at"],
            secrets_expire_at=row["secrets_expire_at"],
            redacted_at=row["redacted_at"],
        )


async def get(conn: AsyncConnection, key: str) -> ActionRecord | None:
    row = (await conn.execute(sa.select(T).where(T.c.idempotency_key == key))).mappings().first()
    return ActionRecord.from_row(row) if row else None


async def claim(
    conn: AsyncConnection,
    key: str,
    *,
    action: str,
    print_: str,
    processor: str,
    account_id: str | None,
    customer_id: str | None,
    now: datetime,
) -> ActionRecord | None:
    """Claim ``key`` for this call: the new ``running`` row, or None when the key is taken (see the module)."""
    stmt = (
        dialect.insert(conn, T)
        .values(
            idempotency_key=key,
            action=action,
            fingerprint=print_,
            status=ActionStatus.RUNNING.value,
            processor=processor,
            account_id=account_id,
            customer_id=customer_id,
            attempts=1,
            claimed_at=now,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(*T.c)
    )
    row = (await conn.execute(stmt)).mappings().first()
    return ActionRecord.from_row(row) if row else None


async def take_over(conn: AsyncConnection, record: ActionRecord, now: datetime) -> ActionRecord | None:
    """Re-claim ``record`` (a stale ``running`` row) unless someone else did since it was read."""
    stmt = (
        sa.update(T)
        .where(T.c.id == record.id, T.c.status == ActionStatus.RUNNING.value, T.c.claimed_at == record.claimed_at)
        .values(claimed_at=now, updated_at=now, attempts=T.c.attempts + 1)
        .returning(*T.c)
    )
    row = (await conn.execute(stmt)).mappings().first()
    return ActionRecord.from_row(row) if row else None


def _holding(record: ActionRecord) -> list[sa.ColumnElement[bool]]:
    return [T.c.id == record.id, T.c.status == ActionStatus.RUNNING.value, T.c.claimed_at == record.claimed_at]


async def finish(
    conn: AsyncConnection,
    record: ActionRecord,
    *,
    now: datetime,
    result: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    customer_id: str | None = None,
    object_id: str | None = None,
) -> bool:
    """Record the outcome of the claim ``record`` holds: ``result`` (succeeded) or ``error`` (failed). False when
    the claim was lost (another caller took the row over and may have recorded it first)."""
    status = ActionStatus.FAILED if error is not None else ActionStatus.SUCCEEDED
    ACTION_STATES.check(record.status, status)
    values: dict[str, Any] = {
        "result": result if result is not None else sa.null(),
        "error": error if error is not None else sa.null(),
        "object_id": object_id,
        "updated_at": now,
        "secrets_expire_at": secrets_expire_at(record.action, now, result) if result is not None else None,
    }
    if customer_id is not None:
        values["customer_id"] = customer_id
    moved = await ACTION_STATES.move(
        conn, T, status, T.c.id == record.id, T.c.claimed_at == record.claimed_at, column="status", **values
    )
    return moved == 1


async def release(conn: AsyncConnection, record: ActionRecord) -> None:
    """Give the key back after a failure that a retry may not meet (the processor unreachable, throttled):
    the next call with it runs the action, with the same processor idempotency key."""
    await conn.execute(sa.delete(T).where(*_holding(record)))


__all__ = [
    "ACTION_STATES",
    "SECRET_FIELDS",
    "SESSION_ACTIONS",
    "SESSION_SECRETS_TTL",
    "ActionRecord",
    "ActionStateError",
    "ActionStatus",
    "claim",
    "fingerprint",
    "finish",
    "get",
    "redacted",
    "release",
    "secrets_expire_at",
    "take_over",
]
