"""What ``GET /health`` reports: is this process able to do its work, and is anything stopped on purpose?

Each check answers one question and says ``ok``, ``degraded`` (remit stores webhooks but something an operator
should know about holds work back: no live worker, a paused queue, billing switched off, an emergency stop,
processor credentials marked expired) or
``down`` (it cannot do its job: the database does not answer, or its schema is not the one this code needs).
The report's status is the worst of them; ``down`` answers 503 so a load balancer stops sending webhooks to a
process that cannot store them, ``degraded`` still answers 200 (webhooks are stored and held), with the reasons
in the body.

Load balancers and monitors poll it every second or so, so a :class:`HealthCache` per process computes the
report once per ``REMIT_HEALTH_CACHE_SECONDS`` (2 s) in the background while it is polled, and a poll answers
with the last report without waiting for a computation (one older than two intervals is recomputed first).
A computation is one ``SELECT 1`` on a connection of its own (bounded by :data:`DATABASE_PROBE_TIMEOUT_S`),
then one read transaction for the other checks: a handful of indexed single-row or tiny-table reads.

A part adds a check by appending a :class:`HealthCheck` to :data:`CHECKS` (a name and ``async def check(ctx)
-> CheckResult``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db import location, migrate
from remit.db.engine import Database, is_sqlite_file_fault, is_unavailable_error
from remit.flags import read_switches
from remit.processor import credentials
from remit.runtime import Runtime
from remit.telemetry.refresher import Refresher

log = logging.getLogger("remit.health")

SERVICE_NAME = "remit"
#: How long the database may take to answer before the service is reported down.
DATABASE_PROBE_TIMEOUT_S = 2.0
#: How long the other checks together may take before the report says so (and the service is degraded).
CHECKS_TIMEOUT_S = 3.0


class Level(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"

    @property
    def rank(self) -> int:
        return {"ok": 0, "degraded": 1, "down": 2}[self.value]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's answer: its level and, unless ok, why (identifiers and counts only)."""

    status: Level
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status.value}
        if self.detail:
            body["detail"] = self.detail
        return body


OK = CheckResult(Level.OK)


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What a check reads: the runtime, and one read transaction shared by every check of a report."""

    runtime: Runtime
    conn: AsyncConnection


@dataclass(frozen=True, slots=True)
class HealthCheck:
    name: str
    check: Callable[[CheckContext], Awaitable[CheckResult]]


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The whole answer; :meth:`to_json` is the body of ``GET /health``."""

    status: Level
    checks: dict[str, CheckResult]
    checked_at: datetime
    version: str

    @property
    def status_code(self) -> int:
        return 503 if self.status is Level.DOWN else 200

    @property
    def reasons(self) -> list[str]:
        return [f"{name}: {result.detail}" for name, result in self.checks.items() if result.status is not Level.OK]

    def to_json(self, now: datetime | None = None) -> dict[str, Any]:
        return {
            "service": SERVICE_NAME,
            "status": self.status.value,
            "timestamp": (now or self.checked_at).isoformat(),
            "version": self.version,
            "checks": {name: result.to_json() for name, result in self.checks.items()},
            "reasons": self.reasons,
        }


# --- the checks ---------------------------------------------------------------------------------------------


async def _select_one(db: Database) -> bool:
    """Ask the database for a constant; True when it says its transactions are read-only (PostgreSQL: a
    standby, or ``default_transaction_read_only``)."""
    async with db.engine.connect() as conn:
        if db.is_sqlite:
            # Through the driver, not SQLAlchemy: remit's SQLite transactions start with BEGIN IMMEDIATE,
            # and a probe must not queue behind busy writers for the write lock just to read a constant.
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            async with driver.execute("SELECT 1") as cursor:
                await cursor.fetchone()
            return False
        value = (await conn.execute(sa.text("SELECT current_setting('transaction_read_only')"))).scalar_one()
        return bool(value == "on")


def _unwritable(db: Database) -> str | None:
    """Why the database cannot take writes now, or None (read-only answers only).

    SQLite: the file or its folder is not writable by this process (a new connection would open read-only and
    SQLite must create its ``-wal``/``-shm`` and journal files beside the file), or the last write on this
    process met a file fault (disk full, I/O error) and nothing committed since. PostgreSQL answers that in
    :func:`_select_one`.
    """
    if not db.is_sqlite:
        return None
    if db.write_faults.last:
        return f"writes failing ({db.write_faults.last})"
    path = location.sqlite_path(db.url)
    if path is None:  # in memory
        return None
    for target, what in ((path, "file"), (path.parent, "folder")):
        if target.exists() and not os.access(target, os.W_OK):
            return f"database {what} not writable"
    return None


async def database_check(db: Database, timeout: float = DATABASE_PROBE_TIMEOUT_S) -> CheckResult:
    """``ok`` when the database answers ``SELECT 1`` within ``timeout`` seconds and can take writes, else
    ``down``: a database that answers reads but refuses writes stores no webhook."""
    try:
        read_only = await asyncio.wait_for(_select_one(db), timeout=timeout)
    except Exception as exc:  # any failure to answer means down; the reason goes to the log, not the body
        log.warning("health check: database did not answer", extra={"error_type": type(exc).__name__})
        return CheckResult(Level.DOWN, f"no answer within {timeout:g}s ({type(exc).__name__})")
    reason = "database is read-only" if read_only else _unwritable(db)
    if reason:
        log.warning("health check: database cannot be written", extra={"reason": reason})
        return CheckResult(Level.DOWN, reason)
    return OK


def _database_lost(exc: BaseException) -> bool:
    """Whether a check failed because the database went away, not because it was slow or met a missing table
    (sqlite3's ``OperationalError`` means both, so on SQLite only a file fault counts)."""
    driver = getattr(exc, "orig", exc)
    if isinstance(driver, sqlite3.Error):
        return is_sqlite_file_fault(driver)
    return is_unavailable_error(exc) and not isinstance(exc, TimeoutError)


@functools.cache
def head_revision() -> str | None:
    """The newest migration this code ships (read from the migration scripts once per process)."""
    return migrate.head_revision()


async def migrations_check(ctx: CheckContext) -> CheckResult:
    """``down`` unless the schema is at this code's head revision (statements would fail against another)."""
    try:
        async with ctx.conn.begin_nested():
            stmt = sa.text(f"SELECT version_num FROM {migrate.VERSION_TABLE}")
            current = (await ctx.conn.execute(stmt)).scalar_one_or_none()
    except Exception as exc:
        if _database_lost(exc):
            raise
        log.warning("health check: no migration version", extra={"error_type": type(exc).__name__})
        current = None
    head = head_revision()
    if current == head:
        return OK
    return CheckResult(Level.DOWN, f"schema at {current or 'base'}, this code needs {head}: run `remit migrate`")


async def workers_check(ctx: CheckContext) -> CheckResult:
    alive = await ctx.runtime.engine.live_workers(ctx.conn)
    if alive:
        return OK
    lease = ctx.runtime.settings.job_lease_seconds
    return CheckResult(Level.DEGRADED, f"no worker heartbeated in the last {lease:g}s: jobs wait")


async def queues_check(ctx: CheckContext) -> CheckResult:
    paused = sorted(await ctx.runtime.engine.paused_queues(ctx.conn))
    if not paused:
        return OK
    return CheckResult(Level.DEGRADED, f"{len(paused)} queue(s) paused: {', '.join(paused)}")


async def billing_check(ctx: CheckContext) -> CheckResult:
    switches = await read_switches(ctx.conn, ctx.runtime.settings)
    billing = switches.flags["billing"]
    if billing.enabled:
        return OK
    since = f" since {billing.updated_at.isoformat()} by {billing.updated_by}" if billing.updated_at else ""
    return CheckResult(Level.DEGRADED, f"billing switched off{since}: webhook events are stored and held")


async def emergency_stop_check(ctx: CheckContext) -> CheckResult:
    stop = (await read_switches(ctx.conn, ctx.runtime.settings)).stop
    if stop is None:
        return OK
    return CheckResult(
        Level.DEGRADED,
        f"emergency stop since {stop.since.isoformat()} by {stop.by}: {len(stop.queues)} queue(s) paused, "
        "webhook events stored and held",
    )


async def processor_credentials_check(ctx: CheckContext) -> CheckResult:
    """``degraded`` while the processor's credentials are marked expired (a job met a 401/403 and the
    processor-calling queues are paused, :mod:`remit.processor.credentials`): webhooks are stored, processor
    work waits for the operator's rotation and resume."""
    expiry = await credentials.current(ctx.conn, ctx.runtime.processor.name)
    if expiry is None:
        return OK
    refused = f"HTTP {expiry.status_code}" + (f" {expiry.code}" if expiry.code else "")
    return CheckResult(
        Level.DEGRADED,
        f"expired since {expiry.expired_at.isoformat()} (the processor answered {refused}): "
        f"{len(expiry.queues)} queue(s) paused until STRIPE_API_KEY is rotated and `remit queues resume "
        f"{expiry.queue}`",
    )


#: The checks of every report after ``database``, in order. Parts append theirs.
CHECKS: list[HealthCheck] = [
    HealthCheck("migrations", migrations_check),
    HealthCheck("workers", workers_check),
    HealthCheck("queues", queues_check),
    HealthCheck("billing", billing_check),
    HealthCheck("emergency_stop", emergency_stop_check),
    HealthCheck("processor_credentials", processor_credentials_check),
]


async def _run_checks(runtime: Runtime, checks: list[HealthCheck]) -> dict[str, CheckResult]:
    """Every check in one read transaction; one that fails is ``degraded``, unless the database went away
    (raised: the whole report is then ``down``)."""
    results: dict[str, CheckResult] = {}
    async with runtime.db.read() as conn:
        context = CheckContext(runtime, conn)
        for item in checks:
            try:
                results[item.name] = await item.check(context)
            except Exception as exc:
                if _database_lost(exc):
                    raise
                log.warning("health check failed", extra={"check": item.name, "error_type": type(exc).__name__})
                results[item.name] = CheckResult(Level.DEGRADED, f"the check failed ({type(exc).__name__})")
    return results


async def health_report(runtime: Runtime, version: str, checks: list[HealthCheck] | None = None) -> HealthReport:
    """Run every check now: ``database`` first; when it is down the others are not attempted. ``version`` is
    remit's, for the body (the package's ``__version__``, which this part cannot import).

    The database can go away between its probe and the other checks' read transaction (the start of an outage):
    that report is ``down`` too, never a ``degraded`` 200 that keeps webhooks coming to a process that cannot
    store them. Checks that are only slow, or fail for another reason, leave it ``degraded``."""
    wanted = CHECKS if checks is None else checks
    results = {"database": await database_check(runtime.db)}
    if results["database"].status is Level.DOWN:
        results.update({item.name: CheckResult(Level.DOWN, "database unreachable") for item in wanted})
    else:
        try:
            results.update(await asyncio.wait_for(_run_checks(runtime, wanted), timeout=CHECKS_TIMEOUT_S))
        except Exception as exc:
            log.warning("health checks did not finish", extra={"error_type": type(exc).__name__})
            if _database_lost(exc):
                results["database"] = CheckResult(Level.DOWN, f"lost during the checks ({type(exc).__name__})")
                results.update({item.name: CheckResult(Level.DOWN, "database unreachable") for item in wanted})
            else:
                results.update(
                    {item.name: CheckResult(Level.DEGRADED, f"not answered ({type(exc).__name__})") for item in wanted}
                )
    worst = max((result.status for result in results.values()), key=lambda level: level.rank)
    return HealthReport(worst, results, runtime.clock.now(), version)


@dataclass
class HealthCache:
    """One process's health report, recomputed in the background every ``ttl`` seconds while it is polled
    (a :class:`~remit.telemetry.refresher.Refresher`): a poll answers with the last report, at most ``ttl`` old
    (plus one computation); the first poll, or one finding the report older than twice ``ttl``, waits for a
    computation, which concurrent polls share. ``ttl`` 0 computes for every poll."""

    runtime: Runtime
    ttl: float
    version: str
    checks: list[HealthCheck] | None = None
    _report: HealthReport | None = field(default=None, init=False, repr=False)
    _refresher: Refresher = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._refresher = Refresher(self._compute, interval=self.ttl)
        self.runtime.closers.append(self._refresher.close)

    async def _compute(self) -> None:
        self._report = await health_report(self.runtime, self.version, self.checks)

    async def report(self) -> HealthReport:
        await self._refresher.fresh()
        assert self._report is not None
        return self._report


__all__ = [
    "CHECKS",
    "DATABASE_PROBE_TIMEOUT_S",
    "SERVICE_NAME",
    "CheckContext",
    "CheckResult",
    "HealthCache",
    "HealthCheck",
    "HealthReport",
    "Level",
    "database_check",
    "health_report",
]
