"""Meter events: the local record of each usage report, its state machine, and every statement that moves it.

::

    pending ──the processor took it──▶ reported
       │                                  │
       └──refused for good──▶ failed ◀────┘  (the processor's meter error report names a reported row)
                                │
                                └──▶ pending   an operator's ``remit usage retry``

A row is inserted once per operation id (``ON CONFLICT DO NOTHING``): a repeated report finds the stored row
and writes nothing. Every state change is a guarded UPDATE of :data:`METER_EVENT_STATES`, so the move to
``failed`` happens once per row however many jobs, reconciler runs and webhook replays try it — which is what
lets :func:`fail` be the one place ``meter_reporting_failed`` is emitted from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db.tables import meter_events
from remit.db.types import UtcDateTime
from remit.errors import RemitError
from remit.statemachine import StateMachine
from remit.usage.values import CheckedUsage


class MeterEventState(StrEnum):
    PENDING = "pending"
    REPORTED = "reported"
    FAILED = "failed"


class FailureSource(StrEnum):
    """Where a failure was found: the report job of the host's own report (``sync``), the reconciler's resend
    (``reconciler``), or the processor's meter error report (``webhook``)."""

    SYNC = "sync"
    RECONCILER = "reconciler"
    WEBHOOK = "webhook"


class MeterEventStateError(RemitError):
    """A state change the meter events' table does not allow."""


TRANSITIONS: dict[MeterEventState, frozenset[MeterEventState]] = {
    MeterEventState.PENDING: frozenset({MeterEventState.REPORTED, MeterEventState.FAILED}),
    MeterEventState.REPORTED: frozenset({MeterEventState.FAILED}),  # the processor's error report
    MeterEventState.FAILED: frozenset({MeterEventState.PENDING}),  # operator retry
}

METER_EVENT_STATES = StateMachine(
    "meter_event",
    MeterEventState,
    TRANSITIONS,
    terminal=frozenset({MeterEventState.REPORTED, MeterEventState.FAILED}),
    error=MeterEventStateError,
)


@dataclass(frozen=True, slots=True)
class MeterEventRecord:
    """One usage record. ``value`` is in the meter's smallest unit (see :mod:`remit.usage.values`)."""

    id: int
    operation_id: str
    customer_id: str
    meter: str
    value: int
    timestamp: datetime
    state: MeterEventState
    attempts: int
    error_code: str | None
    failed_source: str | None
    created_at: datetime
    updated_at: datetime
    reported_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> MeterEventRecord:
        return cls(
            id=int(row["id"]),
            operation_id=row["operation_id"],
            customer_id=row["customer_id"],
            meter=row["meter"],
            value=int(row["value"]),
            timestamp=row["timestamp"],
            state=MeterEventState(row["state"]),
            attempts=int(row["attempts"]),
            error_code=row["error_code"],
            failed_source=row["failed_source"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            reported_at=row["reported_at"],
        )

    def to_json(self, decimals: int = 0) -> dict[str, Any]:
        from remit.usage.values import format_units

        return {
            "id": self.id,
            "operation_id": self.operation_id,
            "customer": self.customer_id,
            "meter": self.meter,
            "value": format_units(self.value, decimals),
            "timestamp": self.timestamp.isoformat(),
            "status": self.state.value,
            "attempts": self.attempts,
            "error_code": self.error_code,
            "failed_source": self.failed_source,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "reported_at": self.reported_at.isoformat() if self.reported_at else None,
        }


def row_values(usage: CheckedUsage, now: datetime) -> dict[str, Any]:
    return {
        "operation_id": usage.operation_id,
        "customer_id": usage.customer_id,
        "meter": usage.meter,
        "value": usage.units,
        "timestamp": usage.timestamp,
        "hour": usage.hour,
        "state": MeterEventState.PENDING.value,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }


def new_record(event_id: int, usage: CheckedUsage, now: datetime) -> MeterEventRecord:
    """The record :func:`insert_many` just stored for ``usage`` (without reading it back)."""
    return MeterEventRecord(
        id=event_id,
        operation_id=usage.operation_id,
        customer_id=usage.customer_id,
        meter=usage.meter,
        value=usage.units,
        timestamp=usage.timestamp,
        state=MeterEventState.PENDING,
        attempts=0,
        error_code=None,
        failed_source=None,
        created_at=now,
        updated_at=now,
        reported_at=None,
    )


_INSERT_COLUMNS = ("operation_id", "customer_id", "meter", "value", "timestamp", "hour")
_CONFLICT = "ON CONFLICT (operation_id) DO NOTHING RETURNING id, operation_id"
_TARGET = f"INSERT INTO {meter_events.name} ({', '.join(_INSERT_COLUMNS)}, state, attempts, created_at, updated_at) "
_PG_INSERT = sa.text(
    _TARGET + f"SELECT {', '.join('r.' + c for c in _INSERT_COLUMNS)}, 'pending', 0, :now, :now "
    "FROM json_to_recordset(CAST(:rows AS json)) AS r(operation_id text, customer_id text, meter text, "
    f"value bigint, timestamp timestamptz, hour timestamptz) {_CONFLICT}"
).bindparams(sa.bindparam("now", type_=UtcDateTime()))
_SQLITE_INSERT = sa.text(
    _TARGET
    + "SELECT "
    + ", ".join(f"json_extract(value, '$.{c}')" for c in _INSERT_COLUMNS)
    + f", 'pending', 0, :now, :now FROM json_each(:rows) WHERE true {_CONFLICT}"
).bindparams(sa.bindparam("now", type_=UtcDateTime()))


def _stamp(moment: datetime, sqlite: bool) -> str:
    """A UTC time as :class:`~remit.db.types.UtcDateTime` stores it (SQLite's fixed text) or ISO 8601."""
    if sqlite:
        return moment.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return moment.isoformat()


def _encode(usages: Sequence[CheckedUsage], sqlite: bool) -> str:
    return orjson.dumps(
        [
            {
                "operation_id": u.operation_id,
                "customer_id": u.customer_id,
                "meter": u.meter,
                "value": u.units,
                "timestamp": _stamp(u.timestamp, sqlite),
                "hour": _stamp(u.hour, sqlite),
            }
            for u in usages
        ]
    ).decode()


async def insert_many(conn: AsyncConnection, usages: Sequence[CheckedUsage], now: datetime) -> dict[str, int]:
    """Insert each usage unless its operation id is stored already; ``{operation_id: id}`` of the new rows.

    One statement for the batch whose rows travel as one JSON parameter (as the job engine's enqueue does):
    the statement text never changes with the batch size, so neither the driver nor the server parses a
    statement with thousands of placeholders, and the unique key on the operation id decides repeats."""
    if not usages:
        return {}
    sqlite = conn.dialect.name == "sqlite"
    statement = _SQLITE_INSERT if sqlite else _PG_INSERT
    rows = await conn.execute(statement, {"rows": _encode(usages, sqlite), "now": now})
    return {row.operation_id: int(row.id) for row in rows}


async def by_operation_ids(conn: AsyncConnection, operation_ids: Sequence[str]) -> dict[str, MeterEventRecord]:
    found: dict[str, MeterEventRecord] = {}
    for start in range(0, len(operation_ids), 500):
        chunk = list(operation_ids[start : start + 500])
        query = sa.select(meter_events).where(meter_events.c.operation_id.in_(chunk))
        for row in (await conn.execute(query)).mappings():
            found[row["operation_id"]] = MeterEventRecord.from_row(row)
    return found


async def by_ids(conn: AsyncConnection, event_ids: Sequence[int]) -> list[MeterEventRecord]:
    """The records with these ids, in id order."""
    found: list[MeterEventRecord] = []
    for start in range(0, len(event_ids), 500):
        chunk = list(event_ids[start : start + 500])
        query = sa.select(meter_events).where(meter_events.c.id.in_(chunk)).order_by(meter_events.c.id)
        found += [MeterEventRecord.from_row(row) for row in (await conn.execute(query)).mappings()]
    return found


async def get_meter_event(conn: AsyncConnection, operation_id: str) -> MeterEventRecord | None:
    return (await by_operation_ids(conn, [operation_id])).get(operation_id)


async def get_by_id(conn: AsyncConnection, event_id: int) -> MeterEventRecord | None:
    row = (await conn.execute(sa.select(meter_events).where(meter_events.c.id == event_id))).mappings().first()
    return None if row is None else MeterEventRecord.from_row(row)


async def list_meter_events(
    conn: AsyncConnection,
    *,
    states: Sequence[MeterEventState] = (),
    customer_id: str | None = None,
    meter: str | None = None,
    limit: int = 50,
) -> list[MeterEventRecord]:
    """Meter events, newest first."""
    query = sa.select(meter_events).order_by(meter_events.c.id.desc()).limit(limit)
    if states:
        query = query.where(meter_events.c.state.in_([s.value for s in states]))
    if customer_id is not None:
        query = query.where(meter_events.c.customer_id == customer_id)
    if meter is not None:
        query = query.where(meter_events.c.meter == meter)
    return [MeterEventRecord.from_row(row) for row in (await conn.execute(query)).mappings()]


async def pending_before(conn: AsyncConnection, cutoff: datetime, limit: int) -> list[int]:
    """Ids of ``pending`` rows created before ``cutoff``, oldest first (the reconciler's batch)."""
    query = (
        sa.select(meter_events.c.id)
        .where(meter_events.c.state == MeterEventState.PENDING.value, meter_events.c.created_at < cutoff)
        .order_by(meter_events.c.created_at, meter_events.c.id)
        .limit(limit)
    )
    return [int(row.id) for row in await conn.execute(query)]


async def count_by_state(conn: AsyncConnection) -> dict[str, int]:
    query = sa.select(meter_events.c.state, sa.func.count()).group_by(meter_events.c.state)
    counts = {state.value: 0 for state in MeterEventState}
    for state, count in await conn.execute(query):
        counts[state] = int(count)
    return counts


async def count_in_state(conn: AsyncConnection, state: MeterEventState) -> int:
    """Records in one state, read from the ``(state, created_at)`` index (the admin overview's failed rows)."""
    query = sa.select(sa.func.count()).select_from(meter_events).where(meter_events.c.state == state.value)
    return int((await conn.execute(query)).scalar_one())


async def oldest_pending(conn: AsyncConnection) -> datetime | None:
    query = sa.select(sa.func.min(meter_events.c.created_at)).where(
        meter_events.c.state == MeterEventState.PENDING.value
    )
    value = (await conn.execute(query)).scalar_one_or_none()
    if isinstance(value, str):  # SQLite's min() of the stored text
        return UtcDateTime().process_result_value(value, conn.dialect)
    return value if isinstance(value, datetime) else None


async def note_attempt(conn: AsyncConnection, event_id: int, now: datetime) -> None:
    await conn.execute(
        sa.update(meter_events)
        .where(meter_events.c.id == event_id)
        .values(attempts=meter_events.c.attempts + 1, updated_at=now)
    )


async def mark_reported(conn: AsyncConnection, event_ids: Sequence[int], now: datetime) -> int:
    """``pending`` → ``reported`` for each of ``event_ids``; how many moved."""
    if not event_ids:
        return 0
    return await METER_EVENT_STATES.move(
        conn,
        meter_events,
        MeterEventState.REPORTED,
        meter_events.c.id.in_(list(event_ids)),
        reported_at=now,
        updated_at=now,
        error_code=None,
    )


async def fail(
    conn: AsyncConnection, where: Any, source: FailureSource, error_code: str, now: datetime
) -> list[MeterEventRecord]:
    """→ ``failed`` (from ``pending`` or ``reported``) for the rows ``where`` selects; the rows that moved —
    only those, so the caller emits ``meter_reporting_failed`` once per row."""
    statement = METER_EVENT_STATES.update(
        meter_events,
        MeterEventState.FAILED,
        where,
        error_code=error_code[:64],
        failed_source=source.value,
        updated_at=now,
    ).returning(*meter_events.c)
    return [MeterEventRecord.from_row(row) for row in (await conn.execute(statement)).mappings()]


async def reopen_failed(
    conn: AsyncConnection, now: datetime, *, customer_id: str | None = None, meter: str | None = None
) -> list[MeterEventRecord]:
    """``failed`` → ``pending`` (an operator's retry): the rows that moved."""
    where: list[Any] = [sa.true()]
    if customer_id is not None:
        where.append(meter_events.c.customer_id == customer_id)
    if meter is not None:
        where.append(meter_events.c.meter == meter)
    statement = METER_EVENT_STATES.update(
        meter_events,
        MeterEventState.PENDING,
        *where,
        error_code=None,
        failed_source=None,
        updated_at=now,
    ).returning(*meter_events.c)
    return [MeterEventRecord.from_row(row) for row in (await conn.execute(statement)).mappings()]


__all__ = [
    "METER_EVENT_STATES",
    "TRANSITIONS",
    "FailureSource",
    "MeterEventRecord",
    "MeterEventState",
    "MeterEventStateError",
    "by_ids",
    "by_operation_ids",
    "count_by_state",
    "count_in_state",
    "fail",
    "get_by_id",
    "get_meter_event",
    "insert_many",
    "list_meter_events",
    "mark_reported",
    "new_record",
    "note_attempt",
    "oldest_pending",
    "pending_before",
    "reopen_failed",
]
