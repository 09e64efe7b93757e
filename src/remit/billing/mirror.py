"""Reading the mirror: one object by processor id, or a page of objects the way Stripe pages its lists.

Lists are newest first (object ``created``, then insertion order) and paged with ``starting_after`` = the
processor id of the last object of the previous page, exactly like Stripe's API, so a client written against
Stripe's list endpoints pages through remit's the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.billing.kinds import KINDS
from remit.billing.watermark import Watermark
from remit.errors import RemitError

MAX_PAGE = 100


class UnknownCursor(RemitError):
    """``starting_after`` names an object the mirror does not hold."""


@dataclass(frozen=True, slots=True)
class MirrorRecord:
    """One mirror row: the object as last applied, and remit's bookkeeping about it."""

    object_type: str
    stripe_id: str
    livemode: bool
    created: datetime
    data: dict[str, Any]
    deleted: bool
    watermark: Watermark
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, object_type: str, row: Mapping[Any, Any]) -> MirrorRecord:
        return cls(
            object_type=object_type,
            stripe_id=row["stripe_id"],
            livemode=bool(row["livemode"]),
            created=row["created"],
            data=dict(row["data"] or {}),
            deleted=bool(row["deleted"]),
            watermark=Watermark.from_row(row),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def remit_fields(self) -> dict[str, Any]:
        return {
            "deleted": self.deleted,
            "watermark": self.watermark.to_json(),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }

    def to_api(self) -> dict[str, Any]:
        """The processor's JSON as last applied, with remit's fields under ``remit``."""
        return {**self.data, "remit": self.remit_fields()}


@dataclass(frozen=True, slots=True)
class Page:
    records: list[MirrorRecord]
    has_more: bool


def _table(object_type: str) -> sa.Table:
    kind = KINDS.get(object_type)
    if kind is None:
        raise KeyError(f"{object_type!r} is not a mirrored object type")
    return kind.table


async def get_object(conn: AsyncConnection, object_type: str, stripe_id: str) -> MirrorRecord | None:
    """The mirrored object, deleted or not; ``None`` when the mirror never saw it."""
    table = _table(object_type)
    row = (await conn.execute(sa.select(table).where(table.c.stripe_id == stripe_id))).mappings().first()
    return None if row is None else MirrorRecord.from_row(object_type, row)


async def list_objects(
    conn: AsyncConnection,
    object_type: str,
    *,
    filters: Mapping[str, Any] | None = None,
    limit: int = 10,
    starting_after: str | None = None,
    include_deleted: bool = False,
) -> Page:
    """One page, newest first. ``filters`` are column equalities (``{"customer_id": "cus_1"}``).

    Raises :class:`UnknownCursor` when ``starting_after`` is not in the mirror.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be 1..{MAX_PAGE}")
    table = _table(object_type)
    query = sa.select(table).order_by(table.c.created.desc(), table.c.id.desc()).limit(limit + 1)
    for column, value in (filters or {}).items():
        query = query.where(table.c[column] == value)
    if not include_deleted:
        query = query.where(sa.not_(table.c.deleted))
    if starting_after is not None:
        cursor = (
            await conn.execute(sa.select(table.c.created, table.c.id).where(table.c.stripe_id == starting_after))
        ).first()
        if cursor is None:
            raise UnknownCursor(f"no {object_type} {starting_after!r} to start after")
        query = query.where(
            sa.tuple_(table.c.created, table.c.id)
            < sa.tuple_(sa.literal(cursor.created, table.c.created.type), sa.literal(cursor.id, table.c.id.type))
        )
    rows = (await conn.execute(query)).mappings().all()
    records = [MirrorRecord.from_row(object_type, row) for row in rows[:limit]]
    return Page(records, has_more=len(rows) > limit)


__all__ = ["MAX_PAGE", "MirrorRecord", "Page", "UnknownCursor", "get_object", "list_objects"]
