"""Runtime flags: switches held in the database that every remit process obeys within seconds, without a restart.

Two flags exist (:data:`FLAGS`):

- ``billing``: remit's handlers run. Off, webhook deliveries are still verified and stored, but as ``held``,
  and no handler runs until it is on again (:mod:`remit.webhooks.held` releases them then).
- ``origin_guard``: requests must come through the trusted proxy (the HTTP layer enforces it; this module only
  holds the switch).

A flag an operator never set takes its ``REMIT_FLAG_*`` value; ``remit flags set NAME on|off`` writes a row to
``remit_flags`` (audited, and for ``billing`` the ops event ``billing_switched``), which from then on wins over
the environment in every process. Beside the flags the same table holds the emergency stop
(:data:`EMERGENCY_STOP`, written by :mod:`remit.control.stop`): while it is on, webhooks are held as if billing
were off and the queues it paused stay paused.

Each process reads the table through a :class:`FlagCache` (``runtime.flags``), at most once per
``REMIT_FLAGS_REFRESH_SECONDS`` (2 s): the webhook endpoint asks it on every delivery, so a switch reaches the
hot path within seconds for the price of one tiny query per process every two seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit import audit
from remit.config import Settings
from remit.db import dialect
from remit.db.engine import Database
from remit.db.tables import flags as flags_table
from remit.errors import RemitError

#: The row name of the emergency stop in ``remit_flags`` (not a flag: ``remit stop`` and ``remit start`` set it).
EMERGENCY_STOP = "emergency_stop"


@dataclass(frozen=True, slots=True)
class FlagSpec:
    """A flag: its name, the variable that gives its value until an operator sets one, and what "on" means."""

    name: str
    variable: str
    setting: str
    meaning: str

    def initial(self, settings: Settings) -> bool:
        """The value ``settings`` give (the ``REMIT_FLAG_*`` variable, or its default)."""
        return bool(getattr(settings, self.setting))


BILLING = "billing"
ORIGIN_GUARD = "origin_guard"

FLAGS: dict[str, FlagSpec] = {
    spec.name: spec
    for spec in (
        FlagSpec(
            BILLING,
            "REMIT_FLAG_BILLING",
            "flag_billing",
            "remit's handlers run; off, webhook events are stored and held until it is on again",
        ),
        FlagSpec(
            ORIGIN_GUARD,
            "REMIT_FLAG_ORIGIN_GUARD",
            "flag_origin_guard",
            "requests must arrive through the trusted proxy (REMIT_ORIGIN_HEADER) or an allow-listed network",
        ),
    )
}


class UnknownFlag(RemitError):
    """A flag name nobody declared."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no flag {name!r}; the flags are: {', '.join(FLAGS)}")
        self.name = name


@dataclass(frozen=True, slots=True)
class FlagState:
    """A flag's value and where it comes from: ``database`` (an operator set it) or ``environment``."""

    name: str
    enabled: bool
    source: str
    updated_at: datetime | None = None
    updated_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "enabled": self.enabled,
            "source": self.source,
            "variable": FLAGS[self.name].variable,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "updated_by": self.updated_by,
        }


@dataclass(frozen=True, slots=True)
class EmergencyStop:
    """An emergency stop in force: since when, by whom, and the queues it paused (which ``remit start --all``
    resumes)."""

    since: datetime
    by: str
    queues: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "by": self.by, "queues": list(self.queues)}


@dataclass(frozen=True, slots=True)
class Switches:
    """Every switch at one moment: the flags, and the emergency stop if one is in force."""

    flags: Mapping[str, FlagState]
    stop: EmergencyStop | None = None

    def enabled(self, name: str) -> bool:
        if name not in self.flags:
            raise UnknownFlag(name)
        return self.flags[name].enabled

    @property
    def billing(self) -> bool:
        return self.enabled(BILLING)

    @property
    def origin_guard(self) -> bool:
        return self.enabled(ORIGIN_GUARD)

    @property
    def dispatching(self) -> bool:
        """Whether webhook events are dispatched (billing on, no emergency stop); else they are held."""
        return self.billing and self.stop is None


def switches_from_rows(rows: Mapping[str, Mapping[str, Any]], settings: Settings) -> Switches:
    """The switches given the table's rows by name and the settings' initial values (pure)."""
    states = {}
    for name, spec in FLAGS.items():
        row = rows.get(name)
        if row is None:
            states[name] = FlagState(name, spec.initial(settings), "environment")
        else:
            states[name] = FlagState(name, bool(row["enabled"]), "database", row["updated_at"], row["updated_by"])
    stop_row = rows.get(EMERGENCY_STOP)
    stop = None
    if stop_row is not None and stop_row["enabled"]:
        queues = (stop_row.get("details") or {}).get("queues") or []
        stop = EmergencyStop(stop_row["updated_at"], stop_row["updated_by"], tuple(str(q) for q in queues))
    return Switches(states, stop)


async def read_switches(conn: AsyncConnection, settings: Settings) -> Switches:
    """Every switch as the database holds it now."""
    rows = {row["name"]: dict(row) for row in (await conn.execute(sa.select(flags_table))).mappings()}
    return switches_from_rows(rows, settings)


async def write_switch(
    conn: AsyncConnection,
    name: str,
    enabled: bool,
    *,
    at: datetime,
    by: str,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Insert or overwrite the row of switch ``name``, in the caller's transaction."""
    stmt = dialect.insert(conn, flags_table).values(
        name=name, enabled=enabled, updated_at=at, updated_by=by, details=dict(details) if details else None
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[flags_table.c.name],
        set_={
            "enabled": stmt.excluded.enabled,
            "updated_at": stmt.excluded.updated_at,
            "updated_by": stmt.excluded.updated_by,
            "details": stmt.excluded.details,
        },
    )
    await conn.execute(stmt)


@dataclass(frozen=True, slots=True)
class FlagChange:
    """What ``set_flag`` did: the state before and after (``changed`` is False when it already was so)."""

    before: FlagState
    after: FlagState

    @property
    def changed(self) -> bool:
        return self.before.enabled != self.after.enabled


async def set_flag(
    conn: AsyncConnection, settings: Settings, name: str, enabled: bool, *, actor: str, at: datetime
) -> FlagChange:
    """Set flag ``name`` in the caller's transaction, with its audit line (``flags.set``, subject
    ``flag:<name>``). The row is written even when the value does not change, so the database, not the
    environment, holds it from now on. The caller emits ``billing_switched`` once the transaction commits."""
    if name not in FLAGS:
        raise UnknownFlag(name)
    before = (await read_switches(conn, settings)).flags[name]
    await write_switch(conn, name, enabled, at=at, by=actor)
    await audit.record(
        conn,
        at=at,
        actor=actor,
        action="flags.set",
        subject=f"flag:{name}",
        details={"enabled": enabled, "previous": before.enabled, "previous_source": before.source},
    )
    return FlagChange(before, FlagState(name, enabled, "database", at, actor))


@dataclass
class FlagCache:
    """One process's view of the switches, read again at most every ``ttl`` seconds (see the module docs).

    Callers that arrive while a read is under way wait for that read rather than starting their own. A read
    that fails (the database went away) raises to its caller and caches nothing.

    The read is started ahead of time: a caller that finds the cached value past half its ``ttl`` still gets
    it at once (it is younger than ``ttl``, as promised) and starts the next read in the background. Waiting
    for the read on expiry, as the cache once did, stalled every webhook delivery arriving in that window
    for a connection and a query (the read opens a connection of its own): a few milliseconds every two
    seconds, on a loaded machine a third of the requests in the slowest percent. A background read that fails
    is dropped; the next caller past half the ``ttl`` tries again, and one past the ``ttl`` waits as before.
    """

    db: Database
    settings: Settings
    ttl: float = 2.0
    #: The clock ages are measured on (seconds, only differences matter); a test steps its own.
    monotonic: Callable[[], float] = time.monotonic
    _value: Switches | None = field(default=None, init=False, repr=False)
    _read_at: float = field(default=0.0, init=False, repr=False)
    _reading: asyncio.Future[Switches] | None = field(default=None, init=False, repr=False)
    _ahead: asyncio.Task[Switches] | None = field(default=None, init=False, repr=False)

    async def switches(self, *, fresh: bool = False) -> Switches:
        """The switches, from the cache when it is younger than ``ttl`` (``fresh``: from the database now)."""
        if not fresh and self._value is not None:
            age = self.monotonic() - self._read_at
            if age < self.ttl:
                if age >= self.ttl / 2 and self._reading is None:
                    self._read_ahead()
                return self._value
        if self._reading is not None and not fresh:
            return await asyncio.shield(self._reading)
        reading: asyncio.Future[Switches] = asyncio.get_running_loop().create_future()
        self._reading = reading
        try:
            async with self.db.read() as conn:
                value = await read_switches(conn, self.settings)
        except BaseException as exc:
            reading.set_exception(exc)
            reading.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            if self._reading is reading:
                self._reading = None
        self._value, self._read_at = value, self.monotonic()
        reading.set_result(value)
        return value

    @property
    def last_known(self) -> Switches | None:
        """The switches last read, however old (None before the first read): for a caller that must decide
        something while the database cannot be asked."""
        return self._value

    def _read_ahead(self) -> None:
        """Start the next read in the background (its failure is dropped: see the class docs)."""
        task = asyncio.get_running_loop().create_task(self.switches(fresh=True))
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._ahead = task  # keep a reference while it runs

    def remember(self, switches: Switches) -> None:
        """Take ``switches`` as just read from the database (a runtime that has no database to ask yet)."""
        self._value, self._read_at = switches, self.monotonic()

    def invalidate(self) -> None:
        """Forget the cached switches (this process just changed one)."""
        self._value = None


__all__ = [
    "BILLING",
    "EMERGENCY_STOP",
    "FLAGS",
    "ORIGIN_GUARD",
    "EmergencyStop",
    "FlagCache",
    "FlagChange",
    "FlagSpec",
    "FlagState",
    "Switches",
    "UnknownFlag",
    "read_switches",
    "set_flag",
    "switches_from_rows",
    "write_switch",
]
