"""One call of the fake in progress: its connection, its moment, the request it answers, the events it emits.

Operations are plain async functions of ``(tx, params)``; everything they touch goes through the :class:`Tx`
so that one call's objects, ids and events commit together. ``tx.emit`` snapshots the object at once, so an
event shows the object as it was at that step (a draft invoice in ``invoice.created``, the paid one in
``invoice.paid``), in the order the steps happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from remit.processor.base import API_VERSION
from remit.processor.fake import store
from remit.processor.fake.errors import ApiError
from remit.processor.fake.events import (
    StoredEvent,
    envelope,
    insert_event,
    previous_attributes,
    thin_envelope,
)
from remit.processor.fake.ids import prefix_for
from remit.processor.fake.shapes.billing import as_sent
from remit.processor.fake.store import StoredObject
from remit.processor.fake.versions import render


@dataclass
class Tx:
    conn: AsyncConnection
    now: int
    request_id: str | None = None
    idempotency_key: str | None = None
    events: list[StoredEvent] = field(default_factory=list)
    #: An error to answer *after* committing (a declined card: the failed charge and its events are real).
    error: ApiError | None = None

    @property
    def moment(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)

    async def new_id(self, object_type: str) -> str:
        return await store.new_id(self.conn, prefix_for(object_type))

    async def number(self, name: str) -> int:
        return await store.next_number(self.conn, name)

    async def get(
        self, object_id: str, object_type: str, *, param: str = "id", include_deleted: bool = False
    ) -> StoredObject:
        return await store.get_object(self.conn, object_id, object_type, param=param, include_deleted=include_deleted)

    async def find(self, object_id: str) -> StoredObject | None:
        return await store.find_object(self.conn, object_id)

    async def insert(self, data: dict[str, Any], private: dict[str, Any] | None = None) -> dict[str, Any]:
        await store.insert_object(self.conn, data, now=self.moment, private=private)
        return data

    async def save(
        self, data: dict[str, Any], private: dict[str, Any] | None = None, *, deleted: bool | None = None
    ) -> dict[str, Any]:
        await store.save_object(self.conn, data, now=self.moment, private=private, deleted=deleted)
        return data

    async def list(self, object_type: str, *, customer: str | None = None) -> list[StoredObject]:
        return await store.list_objects(self.conn, object_type, customer=customer)

    async def emit(
        self, event_type: str, obj: dict[str, Any], *, before: dict[str, Any] | None = None, account: str | None = None
    ) -> StoredEvent:
        """Record ``event_type`` about ``obj`` now; with ``before``, the changes go in previous_attributes.

        The event carries ``obj`` as Stripe sends it — in the account's API version (events keep the version
        they were made in), long ``items`` / ``lines`` cut to their first page — and ``previous_attributes``
        compares those sent forms, as a receiver sees them."""
        obj = render(as_sent(obj), API_VERSION)
        previous = previous_attributes(render(as_sent(before), API_VERSION), obj) if before is not None else None
        event = envelope(
            await self.new_id("event"),
            event_type,
            obj,
            created=self.now,
            request_id=self.request_id,
            idempotency_key=self.idempotency_key,
            previous=previous,
            account=account,
        )
        stored = await insert_event(self.conn, event)
        self.events.append(stored)
        return stored

    async def emit_thin(
        self, event_type: str, *, related_object: dict[str, Any] | None, reason: dict[str, Any] | None = None
    ) -> StoredEvent:
        event = thin_envelope(
            await self.new_id("event"), event_type, created=self.now, related_object=related_object, reason=reason
        )
        stored = await insert_event(self.conn, event)
        self.events.append(stored)
        return stored


__all__ = ["Tx"]
