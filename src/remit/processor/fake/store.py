"""The fake's objects and id counters in ``remit_fake_objects`` / ``remit_fake_counters``.

Every function takes the caller's connection, so one call of the fake (its objects, events and idempotency
key) commits or rolls back as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db import dialect
from remit.db.tables.fake import fake_counters, fake_objects
from remit.processor.fake.errors import missing
from remit.processor.fake.ids import format_id


def dialect_insert(conn: AsyncConnection, table: sa.Table) -> Any:
    """An INSERT that knows ON CONFLICT on either database."""
    return dialect.insert(conn, table)


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One object of the fake's world: the API shape (``data``) and the fake's own notes (``private``)."""

    id: str
    object: str
    customer: str | None
    created: int
    data: dict[str, Any]
    private: dict[str, Any]
    deleted: bool

    @classmethod
    def from_row(cls, row: Any) -> StoredObject:
        return cls(
            id=row.id,
            object=row.object,
            customer=row.customer,
            created=int(row.created),
            data=dict(row.data),
            private=dict(row.private or {}),
            deleted=bool(row.deleted),
        )


async def next_number(conn: AsyncConnection, prefix: str) -> int:
    """The next number for ``prefix``: one atomic upsert, so two processes never get the same one."""
    stmt = dialect_insert(conn, fake_counters).values(prefix=prefix, value=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[fake_counters.c.prefix], set_={"value": fake_counters.c.value + 1}
    ).returning(fake_counters.c.value)
    return int((await conn.execute(stmt)).scalar_one())


async def new_id(conn: AsyncConnection, prefix: str) -> str:
    return format_id(prefix, await next_number(conn, prefix))


async def insert_object(
    conn: AsyncConnection, data: Mapping[str, Any], *, now: datetime, private: Mapping[str, Any] | None = None
) -> None:
    await conn.execute(
        fake_objects.insert().values(
            id=data["id"],
            object=data["object"],
            customer=_customer_of(data),
            created=int(data.get("created") or now.timestamp()),
            data=dict(data),
            private=dict(private or {}),
            deleted=False,
            updated_at=now,
        )
    )


async def save_object(
    conn: AsyncConnection,
    data: Mapping[str, Any],
    *,
    now: datetime,
    private: Mapping[str, Any] | None = None,
    deleted: bool | None = None,
) -> None:
    """Replace an object's data (and its private notes when given)."""
    values: dict[str, Any] = {"data": dict(data), "customer": _customer_of(data), "updated_at": now}
    if private is not None:
        values["private"] = dict(private)
    if deleted is not None:
        values["deleted"] = deleted
    await conn.execute(fake_objects.update().where(fake_objects.c.id == data["id"]).values(**values))


async def find_object(conn: AsyncConnection, object_id: str) -> StoredObject | None:
    row = (await conn.execute(sa.select(fake_objects).where(fake_objects.c.id == object_id))).first()
    return None if row is None else StoredObject.from_row(row)


async def get_object(
    conn: AsyncConnection, object_id: str, object_type: str, *, param: str = "id", include_deleted: bool = False
) -> StoredObject:
    """The object, or Stripe's 404 (``No such customer: 'cus_…'``)."""
    found = await find_object(conn, object_id)
    if found is None or found.object != object_type or (found.deleted and not include_deleted):
        raise missing(object_type, object_id, param)
    return found


async def list_objects(
    conn: AsyncConnection, object_type: str, *, customer: str | None = None, include_deleted: bool = False
) -> list[StoredObject]:
    """Every object of a type, newest first (creation second, then id: the counters keep order)."""
    query = sa.select(fake_objects).where(fake_objects.c.object == object_type)
    if customer is not None:
        query = query.where(fake_objects.c.customer == customer)
    if not include_deleted:
        query = query.where(fake_objects.c.deleted.is_(False))
    query = query.order_by(fake_objects.c.created.desc(), fake_objects.c.id.desc())
    return [StoredObject.from_row(row) for row in (await conn.execute(query)).all()]


async def page_objects(
    conn: AsyncConnection,
    object_type: str,
    *,
    limit: int,
    gte: int | None = None,
    gt: int | None = None,
    lte: int | None = None,
    lt: int | None = None,
    after: tuple[int, str] | None = None,
) -> list[StoredObject]:
    """At most ``limit`` objects of a type, newest first, in a ``created`` range and after the cursor ``after``
    (its ``(created, id)``) — one indexed query, for lists too long to load whole (a year of balance
    transactions). The order is :func:`list_objects`' order."""
    c = fake_objects.c
    query = sa.select(fake_objects).where(c.object == object_type, c.deleted.is_(False))
    for bound, op in ((gte, "__ge__"), (gt, "__gt__"), (lte, "__le__"), (lt, "__lt__")):
        if bound is not None:
            query = query.where(getattr(c.created, op)(bound))
    if after is not None:
        created, object_id = after
        query = query.where(sa.or_(c.created < created, sa.and_(c.created == created, c.id < object_id)))
    query = query.order_by(c.created.desc(), c.id.desc()).limit(limit)
    return [StoredObject.from_row(row) for row in (await conn.execute(query)).all()]


def _customer_of(data: Mapping[str, Any]) -> str | None:
    if data.get("object") == "customer":
        return str(data["id"])
    customer = data.get("customer")
    return customer if isinstance(customer, str) else None


__all__ = [
    "StoredObject",
    "dialect_insert",
    "find_object",
    "get_object",
    "insert_object",
    "list_objects",
    "new_id",
    "next_number",
    "page_objects",
    "save_object",
]
