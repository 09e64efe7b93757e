"""``GET /health``: is this process serving, does its database answer, are the processor's credentials good?

Load balancers and ``remit up``'s operator poll it, so it must stay cheap and bounded: one ``SELECT 1`` and one
primary-key read, each with a short timeout. A database that does not answer makes the answer 503 with status
``down``, so an orchestrator stops routing webhooks to a process that could not store them; processor
credentials marked expired make it ``degraded`` (still 200: webhooks are stored, processor work waits).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from remit import __version__
from remit.db.engine import Database
from remit.processor.credentials import read_expiry
from remit.runtime import Runtime

log = logging.getLogger("remit.api.health")

SERVICE_NAME = "remit"
#: How long the database may take to answer before the service is reported down.
DATABASE_PROBE_TIMEOUT_S = 2.0

router = APIRouter(tags=["health"])


async def _select_one(db: Database) -> None:
    async with db.engine.connect() as conn:
        if db.is_sqlite:
            # Through the driver, not SQLAlchemy: remit's SQLite transactions start with BEGIN IMMEDIATE,
            # and a probe must not queue behind busy writers for the write lock just to read a constant.
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            async with driver.execute("SELECT 1") as cursor:
                await cursor.fetchone()
        else:
            await conn.execute(sa.text("SELECT 1"))


async def database_status(db: Database, timeout: float = DATABASE_PROBE_TIMEOUT_S) -> str:
    """``ok`` when the database answers ``SELECT 1`` within ``timeout`` seconds, else ``down``."""
    try:
        await asyncio.wait_for(_select_one(db), timeout=timeout)
    except Exception as exc:  # any failure to answer means down; the reason goes to the log, not the body
        log.warning("health check: database did not answer", extra={"error_type": type(exc).__name__})
        return "down"
    return "ok"


async def credentials_status(runtime: Runtime, timeout: float = DATABASE_PROBE_TIMEOUT_S) -> str:
    """``expired`` while the processor's credentials are marked expired (a job met a 401/403 and its queues
    are paused), ``ok`` when not, ``unknown`` when that cannot be read. Never more: no key, no reason."""
    try:
        expiry = await asyncio.wait_for(read_expiry(runtime.db, runtime.processor.name), timeout=timeout)
    except Exception as exc:  # an unmigrated or slow database: say unknown, log the type only
        log.warning("health check: credentials state unreadable", extra={"error_type": type(exc).__name__})
        return "unknown"
    return "ok" if expiry is None else "expired"


async def health_report(runtime: Runtime) -> tuple[int, dict[str, Any]]:
    """The status code and JSON body of ``GET /health``: ``down`` (503) when the database does not answer,
    ``degraded`` (200: the process serves and stores webhooks) when another check is not ``ok``."""
    database = await database_status(runtime.db)
    credentials = await credentials_status(runtime) if database == "ok" else "unknown"
    checks = {"database": database, "processor_credentials": credentials}
    healthy = database == "ok"
    status = "down" if not healthy else ("ok" if credentials == "ok" else "degraded")
    body: dict[str, Any] = {
        "service": SERVICE_NAME,
        "status": status,
        "timestamp": runtime.clock.now().isoformat(),
        "version": __version__,
        "checks": checks,
    }
    return (200 if healthy else 503), body


@router.get("/health", summary="Liveness and database reachability")
async def health(request: Request) -> JSONResponse:
    status_code, body = await health_report(request.app.state.runtime)
    return JSONResponse(body, status_code=status_code, headers={"Cache-Control": "no-store"})
