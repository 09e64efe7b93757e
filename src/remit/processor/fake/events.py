"""Events: Stripe's envelope around a snapshot of an object, stored as the exact text that gets signed.

The envelope is Stripe's v1 event (``id``, ``object: "event"``, ``api_version``, ``created``, ``data.object``,
``data.previous_attributes`` on updates, ``livemode``, ``pending_webhooks``, ``request``, ``type``; Connect
events add ``account``). ``previous_attributes`` holds only what changed, nested dicts down to the changed
keys, as Stripe sends it. Billing-meter error events are Stripe's *thin* (v2) events instead: no object
snapshot, a ``related_object`` reference and an RFC 3339 ``created``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db.tables.fake import fake_events
from remit.processor.base import API_VERSION
from remit.processor.fake.render import render, snapshot

#: Every event goes to one endpoint (remit's), as ``pending_webhooks`` tells.
PENDING_WEBHOOKS = 1

_MISSING = object()


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    id: str
    type: str
    created: int
    payload: str
    delivery_status: DeliveryStatus
    delivery_attempts: int
    last_status_code: int | None
    last_attempt_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> StoredEvent:
        return cls(
            seq=int(row.seq),
            id=row.id,
            type=row.type,
            created=int(row.created),
            payload=row.payload,
            delivery_status=DeliveryStatus(row.delivery_status),
            delivery_attempts=int(row.delivery_attempts),
            last_status_code=row.last_status_code,
            last_attempt_at=row.last_attempt_at,
        )

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "created": self.created,
            "delivery_status": self.delivery_status.value,
            "delivery_attempts": self.delivery_attempts,
            "last_status_code": self.last_status_code,
        }


def previous_attributes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What changed from ``before`` to ``after``, with the old values; nested dicts only for changed keys."""
    changed: dict[str, Any] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key, _MISSING), after.get(key, _MISSING)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            changed[key] = previous_attributes(old, new)
        else:
            changed[key] = None if old is _MISSING else old
    return changed


def envelope(
    event_id: str,
    event_type: str,
    obj: dict[str, Any],
    *,
    created: int,
    request_id: str | None,
    idempotency_key: str | None,
    previous: dict[str, Any] | None = None,
    account: str | None = None,
) -> dict[str, Any]:
    """A v1 event around a snapshot of ``obj``."""
    data: dict[str, Any] = {"object": snapshot(obj)}
    if previous:
        data["previous_attributes"] = snapshot(previous)
    event: dict[str, Any] = {
        "id": event_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": PENDING_WEBHOOKS,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": event_type,
    }
    if account is not None:
        event["account"] = account
    return event


def thin_envelope(
    event_id: str,
    event_type: str,
    *,
    created: int,
    related_object: dict[str, Any] | None,
    reason: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A v2 thin event (what billing-meter errors are): a reference, not a snapshot."""
    return {
        "id": event_id,
        "object": "v2.core.event",
        "context": None,
        "created": datetime.fromtimestamp(created, UTC).isoformat().replace("+00:00", "Z"),
        "livemode": False,
        "reason": reason,
        "related_object": related_object,
        "type": event_type,
    }


async def insert_event(conn: AsyncConnection, event: dict[str, Any]) -> StoredEvent:
    payload = render(event)
    row = (
        await conn.execute(
            fake_events.insert()
            .values(
                id=event["id"],
                type=event["type"],
                created=_created_seconds(event),
                payload=payload,
                delivery_status=DeliveryStatus.PENDING.value,
                delivery_attempts=0,
            )
            .returning(fake_events)
        )
    ).one()
    return StoredEvent.from_row(row)


def _created_seconds(event: dict[str, Any]) -> int:
    created = event["created"]
    if isinstance(created, str):
        return int(datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp())
    return int(created)


async def record_delivery(
    conn: AsyncConnection, event_id: str, *, status_code: int | None, ok: bool, at: datetime
) -> None:
    await conn.execute(
        fake_events.update()
        .where(fake_events.c.id == event_id)
        .values(
            delivery_status=(DeliveryStatus.DELIVERED if ok else DeliveryStatus.FAILED).value,
            delivery_attempts=fake_events.c.delivery_attempts + 1,
            last_status_code=status_code,
            last_attempt_at=at,
        )
    )


async def get_event(conn: AsyncConnection, event_id: str) -> StoredEvent | None:
    row = (await conn.execute(sa.select(fake_events).where(fake_events.c.id == event_id))).first()
    return None if row is None else StoredEvent.from_row(row)


async def list_events(
    conn: AsyncConnection,
    *,
    type_: str | None = None,
    status: DeliveryStatus | None = None,
    after_seq: int | None = None,
    limit: int | None = None,
    newest_first: bool = True,
) -> list[StoredEvent]:
    query = sa.select(fake_events)
    if type_ is not None:
        query = query.where(fake_events.c.type == type_)
    if status is not None:
        query = query.where(fake_events.c.delivery_status == status.value)
    if after_seq is not None:
        query = query.where(fake_events.c.seq > after_seq)
    query = query.order_by(fake_events.c.seq.desc() if newest_first else fake_events.c.seq)
    if limit is not None:
        query = query.limit(limit)
    return [StoredEvent.from_row(row) for row in (await conn.execute(query)).all()]


async def last_seq(conn: AsyncConnection) -> int:
    return int((await conn.execute(sa.select(sa.func.coalesce(sa.func.max(fake_events.c.seq), 0)))).scalar_one())


__all__ = [
    "PENDING_WEBHOOKS",
    "DeliveryStatus",
    "StoredEvent",
    "envelope",
    "get_event",
    "insert_event",
    "last_seq",
    "list_events",
    "previous_attributes",
    "record_delivery",
    "thin_envelope",
]
