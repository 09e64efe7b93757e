"""Writing and reading the ledger: :func:`record` appends in the caller's transaction, :func:`read` upcasts.

:func:`record` is an ``INSERT … ON CONFLICT (idempotency_key) DO NOTHING RETURNING id``: a retried webhook,
job or operator command that records the same fact twice gets ``None`` the second time, and two concurrent
writers cannot both succeed. There is no update or delete here, and the database refuses both anyway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import TextClause

from remit.clock import Clock, system_clock
from remit.db import statements
from remit.db.tables import ledger_events
from remit.errors import UpcastError
from remit.ledger.events import LedgerEvent, pii_keys_in
from remit.ledger.upcasters import UpcasterRegistry, default_registry
from remit.telemetry import ops

DEFAULT_READ_LIMIT = 100
MAX_READ_LIMIT = 10_000

#: Where ``recorded_at`` comes from; tests may swap in a FrozenClock with :func:`use_clock`.
_clock: Clock = system_clock


def use_clock(clock: Clock) -> Clock:
    """Make the ledger stamp ``recorded_at`` from ``clock``; returns the previous clock (to restore)."""
    global _clock
    previous, _clock = _clock, clock
    return previous


@cache
def _record_statement() -> TextClause:
    """Built once: SQLAlchemy would compile an ON CONFLICT construct on every call (:mod:`remit.db.statements`)."""
    return statements.upsert(ledger_events, conflict=("idempotency_key",), returning=("id",))


def _check_text(field: str, value: str, limit: int) -> None:
    if not value or len(value) > limit:
        raise ValueError(f"ledger {field} must be 1..{limit} characters")


def _values(
    *, type: str, subject: str, actor: str, data: dict[str, Any], idempotency_key: str, schema_version: int | None
) -> dict[str, Any]:
    """One event's row, checked: text lengths, no PII-named keys, a schema version of 1 or more."""
    _check_text("type", type, 100)
    _check_text("subject", subject, 255)
    _check_text("actor", actor, 200)
    _check_text("idempotency_key", idempotency_key, 255)
    pii = pii_keys_in(data)
    if pii:
        raise ValueError(f"ledger data must not hold personal data; refused keys: {', '.join(pii)}")
    version = default_registry.current_version(type) if schema_version is None else schema_version
    if version < 1:
        raise ValueError("schema versions start at 1")
    return {
        "type": type,
        "schema_version": version,
        "subject": subject,
        "actor": actor,
        "data": data,
        "idempotency_key": idempotency_key,
        "recorded_at": _clock.now(),
    }


async def record(
    conn: AsyncConnection,
    *,
    type: str,
    subject: str,
    actor: str,
    data: dict[str, Any],
    idempotency_key: str,
    schema_version: int | None = None,
) -> int | None:
    """Append one event in the caller's transaction; its id, or ``None`` when ``idempotency_key`` exists.

    ``subject`` names what the event is about (``customer:cus_123``), ``actor`` who caused it (``processor``,
    ``operator:alice``, ``system``). ``data`` must be JSON with identifiers and amounts only: PII-named keys
    are refused with :class:`ValueError`. ``schema_version`` defaults to the type's current version.
    """
    values = _values(
        type=type,
        subject=subject,
        actor=actor,
        data=data,
        idempotency_key=idempotency_key,
        schema_version=schema_version,
    )
    new_id = (await conn.execute(_record_statement(), values)).scalar_one_or_none()
    return None if new_id is None else int(new_id)


@cache
def _record_many_statement() -> TextClause:
    return statements.upsert(ledger_events, conflict=("idempotency_key",))


async def record_many(conn: AsyncConnection, events: Sequence[Mapping[str, Any]]) -> None:
    """Append several events in the caller's transaction as one batched statement (each checked as
    :func:`record` checks it, all before any is written); an event whose ``idempotency_key`` exists is skipped.
    Each of ``events`` holds :func:`record`'s keyword arguments."""
    rows = [
        _values(
            type=e["type"],
            subject=e["subject"],
            actor=e["actor"],
            data=e["data"],
            idempotency_key=e["idempotency_key"],
            schema_version=e.get("schema_version"),
        )
        for e in events
    ]
    if rows:
        await conn.execute(_record_many_statement(), rows)


def upcast(event: LedgerEvent, registry: UpcasterRegistry = default_registry) -> LedgerEvent:
    """``event`` with its data brought to the current schema version of its type.

    An unknown version emits the ``events_upcast_failed`` ops event (identifiers only) and raises
    :class:`UpcastError`, so a reader never acts on data of a shape it does not understand.
    """
    try:
        data = registry.upcast(event.type, event.stored_version, event.data)
    except UpcastError as exc:
        ops.emit(
            "events_upcast_failed",
            event_id=event.id,
            event_type=event.type,
            schema_version=event.stored_version,
            expected=registry.current_version(event.type),
            reason="unknown_version",
        )
        raise UpcastError(f"ledger event {event.id}: {exc}") from exc
    return event.with_data(data, registry.current_version(event.type))


async def read(
    conn: AsyncConnection,
    *,
    subject: str | None = None,
    type: str | None = None,
    since: datetime | None = None,
    limit: int = DEFAULT_READ_LIMIT,
    registry: UpcasterRegistry | None = None,
) -> list[LedgerEvent]:
    """Events in the order they were recorded, filtered, each upcast to its type's current schema version.

    ``since`` keeps events recorded at or after that time. Raises :class:`UpcastError` on the first event
    whose stored version this release cannot read.
    """
    if not 1 <= limit <= MAX_READ_LIMIT:
        raise ValueError(f"limit must be 1..{MAX_READ_LIMIT}")
    query = sa.select(ledger_events).order_by(ledger_events.c.id).limit(limit)
    if subject is not None:
        query = query.where(ledger_events.c.subject == subject)
    if type is not None:
        query = query.where(ledger_events.c.type == type)
    if since is not None:
        query = query.where(ledger_events.c.recorded_at >= since)
    rows = (await conn.execute(query)).mappings().all()
    reg = registry or default_registry
    return [upcast(LedgerEvent.from_row(row), reg) for row in rows]


__all__ = ["DEFAULT_READ_LIMIT", "read", "record", "record_many", "upcast", "use_clock"]
