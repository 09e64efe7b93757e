"""The default webhook handler: project an event's object into the mirror, never over newer state.

:func:`apply_event` runs in the dispatch job's transaction. It routes the event (:mod:`remit.billing.routing`),
completes truncated child lists from the processor if it can (before any row is locked), then writes one
upsert::

    INSERT … ON CONFLICT (stripe_id) DO UPDATE SET …
      WHERE (row.watermark) < (excluded.watermark) [AND NOT row.deleted]

The comparison is done by the database on the row it holds locked, so two workers applying two events of one
object at once cannot regress it: whichever commits second re-checks against the first one's watermark. A
repeated event has an equal watermark and changes nothing. Deletions are sticky: a delete event always sets
``deleted`` (even when older than the row, as nothing follows a deletion at the processor), and no later
non-delete event touches a deleted row, so a late update never resurrects a deleted object.

Children (subscription items, invoice lines) are written after their parent's upsert succeeded, in the same
transaction, and carry the parent's watermark; a child that disappears from a complete list is marked deleted.

Every row is checked before it is written (:func:`remit.db.storable.unstorable_field`): an object the mirror
cannot store — a NUL character in its JSON or in a column, an id longer than its column, JSON nested past
:data:`~remit.db.storable.MAX_JSON_DEPTH` — raises :class:`UnstorableObject`, a permanent failure naming the
field, so the event is dead-lettered at once instead of failing the same insert on every retry for days.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import TextClause

from remit.billing.fields import boolean, timestamp
from remit.billing.kinds import ChildSpec
from remit.billing.refetch import Children, complete_children, embedded_children
from remit.billing.routing import MAX_SHOWN_ID, Ignored, Target, embedded_targets, route, shown
from remit.db import statements
from remit.db.storable import unstorable_field
from remit.errors import PermanentFailure
from remit.telemetry.metrics import mirror_stale_skipped_total

if TYPE_CHECKING:
    from remit.runtime import Runtime

log = logging.getLogger("remit.billing.projection")


class UnstorableObject(PermanentFailure):
    """An object the mirror cannot store on both databases; the message names its type, its id (when the id
    itself is storable) and the field at fault — never the value."""

    def __init__(self, kind: str, stripe_id: str, problem: str) -> None:
        super().__init__(
            f"the mirror cannot store {kind} {shown(stripe_id, MAX_SHOWN_ID) or '(id not shown)'}: {problem}"
        )


def ensure_storable(table: sa.Table, row: Mapping[str, Any], kind: str, stripe_id: str) -> None:
    """Raise :class:`UnstorableObject` when ``table`` cannot hold ``row``."""
    problem = unstorable_field(table, row)
    if problem is not None:
        raise UnstorableObject(kind, stripe_id, problem)


class ApplyStatus(StrEnum):
    APPLIED = "applied"
    SKIPPED_STALE = "skipped_stale"
    IGNORED = "ignored"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What one event did to the mirror. ``duplicate`` marks a skip because this very event was applied
    already (not counted as stale); ``reason`` says why an event was ignored."""

    status: ApplyStatus
    object_type: str | None = None
    object_id: str | None = None
    duplicate: bool = False
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "duplicate": self.duplicate,
            "reason": self.reason,
        }


def _watermark_key(dialect_name: str, columns: str) -> str:
    """SQL for the watermark tuple of ``columns`` (a table's name or ``excluded``), ordered as in Python: event
    ids compare byte-wise (``COLLATE "C"`` on PostgreSQL; SQLite's default is already binary)."""
    collate = ' COLLATE "C"' if dialect_name == "postgresql" else ""
    return (
        f"({columns}.watermark_created, {columns}.watermark_hint, {columns}.watermark_phase, "
        f"{columns}.watermark_event_id{collate})"
    )


@cache
def _upsert_statement(
    dialect_name: str, table: sa.Table, names: tuple[str, ...], updated: tuple[str, ...], deleting: bool
) -> TextClause:
    """The watermark-guarded upsert of one row shape (built once per shape: see :mod:`remit.db.statements`)."""
    newer = f"{_watermark_key(dialect_name, table.name)} < {_watermark_key(dialect_name, 'excluded')}"
    where = newer if deleting else f"{newer} AND NOT {table.name}.deleted"
    return statements.upsert(
        table, columns=names, conflict=("stripe_id",), update=updated, where=where, returning=("id",)
    )


@cache
def _child_upsert_statement(table: sa.Table, parent_column: str, names: tuple[str, ...]) -> TextClause:
    """Children carry their parent's watermark and are written only after the parent's upsert won, so they
    are replaced unconditionally."""
    keep = {"stripe_id", parent_column, "created_at"}
    return statements.upsert(
        table, columns=names, conflict=(parent_column, "stripe_id"), update=[name for name in names if name not in keep]
    )


def _row_values(target: Target, now: datetime) -> dict[str, Any]:
    return {
        "stripe_id": target.stripe_id,
        "livemode": target.livemode,
        "created": target.created,
        "data": dict(target.data),
        "deleted": target.deleting,
        **target.watermark.columns(),
        "created_at": now,
        "updated_at": now,
        **target.kind.columns(target.data),
    }


def _kept_on_update(target: Target, values: Mapping[str, Any]) -> set[str]:
    """Columns an update leaves as they are: identity and first-seen time always; ``created`` when the payload
    does not carry its own (the event's time is only a stand-in); and everything but the bookkeeping when the
    payload is a bare deletion stub (``{"id", "object", "deleted"}``), which would otherwise wipe the object."""
    keep = {"stripe_id", "created_at"}
    if "created" not in target.data:
        keep.add("created")
    if target.is_stub:
        keep |= {name for name in values if not name.startswith("watermark_")} - {"deleted", "updated_at"}
    return keep


async def _upsert(conn: AsyncConnection, target: Target, values: dict[str, Any]) -> bool:
    """Insert the row or replace it when the stored watermark is older; whether it was written."""
    kept = _kept_on_update(target, values)
    stmt = _upsert_statement(
        conn.dialect.name,
        target.kind.table,
        tuple(values),
        tuple(name for name in values if name not in kept),
        target.deleting,
    )
    return (await conn.execute(stmt, values)).scalar_one_or_none() is not None


async def _mark_deleted(conn: AsyncConnection, target: Target, now: datetime) -> bool:
    """Set the deleted flag on a row holding newer state than the delete event (its data stays)."""
    table = target.kind.table
    result = await conn.execute(
        sa.update(table)
        .where(table.c.stripe_id == target.stripe_id, sa.not_(table.c.deleted))
        .values(deleted=True, updated_at=now)
    )
    return bool(result.rowcount)


async def _stored_event_id(conn: AsyncConnection, target: Target) -> str | None:
    table = target.kind.table
    value = (
        await conn.execute(sa.select(table.c.watermark_event_id).where(table.c.stripe_id == target.stripe_id))
    ).scalar_one_or_none()
    return None if value is None else str(value)


def _child_rows(
    child: ChildSpec, parent: Target, items: Sequence[Mapping[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for item in items:
        item_id = item.get("id")
        if not isinstance(item_id, str) or not item_id:
            continue  # an id too long or with a NUL is refused by ensure_storable, naming it
        livemode = boolean(item.get("livemode"))
        rows[item_id] = {  # one row per id: a repeated id in one list keeps its last occurrence
            "stripe_id": item_id,
            child.parent_column: parent.stripe_id,
            "livemode": parent.livemode if livemode is None else livemode,
            "created": timestamp(item.get("created")) or parent.created,
            "data": dict(item),
            "deleted": False,
            **parent.watermark.columns(),
            "created_at": now,
            "updated_at": now,
            **child.columns(item),
        }
    return list(rows.values())


def _by_shape(rows: list[dict[str, Any]]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """Rows grouped by their keys, in order. One cached statement serves one shape only: run for many rows,
    it binds the columns it names from each and silently drops any other key, so a row with a column the
    first row lacked would lose it (and one lacking a column the first row had would fail)."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(tuple(row), []).append(row)
    return shapes


async def _write_children(conn: AsyncConnection, parent: Target, children: Children, now: datetime) -> None:
    for child in parent.kind.children:
        listed = children.get(child.field)
        if listed is None:
            continue  # the payload did not carry this list: leave the stored children as they are
        items, complete = listed
        table = child.table
        rows = _child_rows(child, parent, items, now)
        for row in rows:
            ensure_storable(table, row, f"{parent.kind.name} {child.field}", row["stripe_id"])
        for names, group in _by_shape(rows).items():
            await conn.execute(_child_upsert_statement(table, child.parent_column, names), group)
        if complete:
            await conn.execute(
                sa.update(table)
                .where(
                    table.c[child.parent_column] == parent.stripe_id,
                    table.c.stripe_id.not_in([row["stripe_id"] for row in rows]),
                    sa.not_(table.c.deleted),
                )
                .values(deleted=True, updated_at=now)
            )


async def write_target(
    conn: AsyncConnection, target: Target, children: Children, now: datetime, *, count_stale: bool = True
) -> ApplyResult:
    """Apply one routed object (and its children) under the watermark rule."""
    kind_name = target.kind.name
    values = _row_values(target, now)
    ensure_storable(target.kind.table, values, kind_name, target.stripe_id)
    if await _upsert(conn, target, values):
        await _write_children(conn, target, children, now)
        status = ApplyStatus.DELETED if target.deleting else ApplyStatus.APPLIED
        return ApplyResult(status, kind_name, target.stripe_id)
    if target.deleting and await _mark_deleted(conn, target, now):
        return ApplyResult(ApplyStatus.DELETED, kind_name, target.stripe_id, reason="older_than_row")
    duplicate = await _stored_event_id(conn, target) == target.watermark.event_id
    if not duplicate and count_stale:
        mirror_stale_skipped_total.labels(object_type=kind_name).inc()
    log.debug(
        "mirror skipped an event",
        extra={
            "object_type": kind_name,
            "object_id": target.stripe_id,
            "event_id": target.watermark.event_id,
            "duplicate": duplicate,
        },
    )
    return ApplyResult(ApplyStatus.SKIPPED_STALE, kind_name, target.stripe_id, duplicate=duplicate)


async def apply_event(conn: AsyncConnection, runtime: Runtime, event: Mapping[str, Any]) -> ApplyResult:
    """Project ``event``'s ``data.object`` into the mirror in the caller's transaction.

    Raises :class:`~remit.billing.routing.MalformedEvent` for an envelope without id or created time, and
    :class:`UnstorableObject` for an object the mirror cannot store (both permanent failures).
    """
    routed = route(event)
    if isinstance(routed, Ignored):
        return ApplyResult(ApplyStatus.IGNORED, routed.object_type, routed.object_id, reason=routed.reason)
    now = runtime.clock.now()
    # Refused before the processor is asked for the rest of its lists: a bad id would fail there too.
    ensure_storable(routed.kind.table, _row_values(routed, now), routed.kind.name, routed.stripe_id)
    children = await complete_children(runtime.processor, routed.kind, routed.stripe_id, routed.data)
    result = await write_target(conn, routed, children, now)
    for embedded in embedded_targets(routed):
        await write_target(conn, embedded, embedded_children(embedded.kind, embedded.data), now, count_stale=False)
    return result


__all__ = ["ApplyResult", "ApplyStatus", "UnstorableObject", "apply_event", "ensure_storable", "write_target"]
