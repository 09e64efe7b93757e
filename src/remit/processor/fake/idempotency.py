"""Idempotency keys: a repeated mutating call with the same key answers the first result and does nothing.

The key is claimed with ``INSERT … ON CONFLICT DO NOTHING`` in the call's own transaction, before the
operation runs, and the answer is stored in the same transaction; so two concurrent calls with one key cannot
both act (the second waits on the row, then replays), and a call that failed validation leaves no key behind
(it rolled back), which lets the caller fix and retry. As in Stripe, reusing a key with different parameters
is a 400 ``idempotency_error``. Keys do not expire in the fake.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db.tables.fake import fake_idempotency_keys
from remit.processor.fake.errors import IDEMPOTENCY_ERROR, ApiError
from remit.processor.fake.params import canonical
from remit.processor.fake.store import dialect_insert

IN_PROGRESS = 0


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    body: dict[str, Any]


def fingerprint(route: str, path: str, params: Any) -> str:
    text = json.dumps([route, path, canonical(params)], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


async def claim(conn: AsyncConnection, key: str, *, route: str, print_: str, now: datetime) -> Replay | None:
    """Claim ``key`` for this call (None), or the stored answer of the call that claimed it first."""
    stmt = (
        dialect_insert(conn, fake_idempotency_keys)
        .values(
            key=key,
            route=route,
            fingerprint=print_,
            status_code=IN_PROGRESS,
            response="",
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[fake_idempotency_keys.c.key])
        .returning(fake_idempotency_keys.c.key)
    )
    if (await conn.execute(stmt)).first() is not None:
        return None
    row = (await conn.execute(sa.select(fake_idempotency_keys).where(fake_idempotency_keys.c.key == key))).one()
    if row.fingerprint != print_:
        raise ApiError(
            400,
            IDEMPOTENCY_ERROR,
            "Keys for idempotent requests can only be used with the same parameters they were first "
            "used with. Try using a key other than the one you sent if you meant to execute a "
            "different request.",
            code="idempotency_key_in_use",
        )
    if row.status_code == IN_PROGRESS:
        raise ApiError(
            409,
            IDEMPOTENCY_ERROR,
            "There is currently another in-progress request using this Idempotent Key. Retry shortly.",
            code="idempotency_key_in_use",
        )
    return Replay(int(row.status_code), json.loads(row.response))


async def store(conn: AsyncConnection, key: str, status: int, body: dict[str, Any]) -> None:
    await conn.execute(
        fake_idempotency_keys.update()
        .where(fake_idempotency_keys.c.key == key)
        .values(status_code=status, response=json.dumps(body))
    )


__all__ = ["Replay", "claim", "fingerprint", "store"]
