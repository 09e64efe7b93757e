"""Expired processor credentials: marked once, shown everywhere, cleared by the operator's resume.

When the processor refuses remit's key (401/403) inside a job, :func:`mark_expired` — in one transaction —
inserts the processor's row in ``remit_credential_expiries`` (``ON CONFLICT DO NOTHING``: of every job and
worker that meets the expiry at once, exactly one inserts it, and only that one emits
``processor_credentials_expired``) and pauses, for every worker, the queue of the job and every queue of
``REMIT_PROCESSOR_QUEUES`` not already paused (audited, with :data:`EXPIRY_ACTOR` as the pauser). Their jobs
wait, snoozed or queued: nothing is lost. ``GET /health`` and ``remit doctor`` read the row.

The row is cleared by the operator, not by a later successful call (that would cost a database read on every
processor call): after rotating the key and restarting the workers, resuming any queue the expiry paused
(``remit queues resume NAME``, :func:`resume_queue`) deletes the row and resumes every queue the expiry
paused — a queue someone else paused stays paused. Were the key still refused, the next job marks it again
(a new expiry, a new ops event).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db import dialect
from remit.db.engine import Database
from remit.db.tables import credential_expiries
from remit.errors import ProcessorError
from remit.jobs.engine import Engine
from remit.jobs.records import Job
from remit.telemetry import ops

#: Who the audit trail and the queue states name as the pauser of the queues an expiry paused.
EXPIRY_ACTOR = "remit:processor_credentials_expired"


@dataclass(frozen=True, slots=True)
class CredentialsExpiry:
    """The processor refused remit's key: since when, how, where first, and the queues that affected."""

    processor: str
    expired_at: datetime
    status_code: int
    code: str | None
    queue: str
    job_id: int | None
    job_name: str | None
    queues: tuple[str, ...]

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> CredentialsExpiry:
        return cls(
            processor=row["processor"],
            expired_at=row["expired_at"],
            status_code=int(row["status_code"]),
            code=row["code"],
            queue=row["queue"],
            job_id=row["job_id"],
            job_name=row["job_name"],
            queues=tuple(row["queues"] or ()),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "processor": self.processor,
            "expired_at": self.expired_at.isoformat(),
            "status_code": self.status_code,
            "code": self.code,
            "queue": self.queue,
            "job_id": self.job_id,
            "job_name": self.job_name,
            "queues": list(self.queues),
        }


@dataclass(frozen=True, slots=True)
class ResumedQueue:
    """What :func:`resume_queue` did: the queue resumed, the expiry it cleared (if it did), and the other
    queues that expiry had paused, resumed with it."""

    name: str
    cleared: CredentialsExpiry | None = None
    also_resumed: list[str] = field(default_factory=list)


async def current(conn: AsyncConnection, processor: str) -> CredentialsExpiry | None:
    """The expiry recorded for ``processor``, or None while its credentials are good."""
    stmt = sa.select(credential_expiries).where(credential_expiries.c.processor == processor)
    row = (await conn.execute(stmt)).mappings().first()
    return CredentialsExpiry.from_row(row) if row else None


async def read_expiry(db: Database, processor: str) -> CredentialsExpiry | None:
    """:func:`current` on a connection of its own, for ``GET /health`` and ``remit doctor``: on SQLite a
    read-only one (:meth:`~remit.db.engine.Database.read`), so it never queues behind the write lock."""
    opener = db.read if db.is_sqlite else db.connect
    async with opener() as conn:
        return await current(conn, processor)


async def mark_expired(
    engine: Engine, *, processor: str, error: ProcessorError, job: Job, queues: Iterable[str]
) -> bool:
    """Record that ``processor`` refused the key ``job`` used, pause ``job``'s queue and ``queues`` (keys or
    names) for every worker, and emit ``processor_credentials_expired`` when this call was the one that
    recorded it. True when it was (see the module docs)."""
    affected = sorted({job.queue, *(engine.queue_name(queue) for queue in queues)})
    row = {
        "processor": processor,
        "expired_at": engine.clock.now(),
        "status_code": error.status_code or 0,
        "code": (error.code or "")[:64] or None,
        "queue": job.queue,
        "job_id": job.id,
        "job_name": job.name,
        "queues": affected,
    }
    async with engine.db.begin() as conn:
        insert = dialect.insert(conn, credential_expiries).values(row).on_conflict_do_nothing()
        first = (await conn.execute(insert.returning(credential_expiries.c.processor))).first() is not None
        paused = await engine.pause_queues(conn, affected, actor=EXPIRY_ACTOR)
    if first:
        ops.emit(
            "processor_credentials_expired",
            processor=processor,
            status=row["status_code"],
            code=row["code"],
            queue=job.queue,
            job_id=job.id,
            job_name=job.name,
            queues=",".join(affected),
            count=len(paused),
        )
    return first


async def resume_queue(engine: Engine, processor: str, queue: str, *, actor: str) -> ResumedQueue:
    """Resume ``queue`` (a key or a stored name) as ``remit queues resume`` does, audited as ``actor``. When
    the credentials expiry of ``processor`` paused it (or lists it), the operator is saying the key was
    rotated: the expiry is cleared and every other queue it paused is resumed too, in one transaction."""
    name = engine.queue_name(queue)
    async with engine.db.begin() as conn:
        expiry = await current(conn, processor)
        by_expiry = await engine.resume_queues(conn, [name], actor=actor, paused_by=EXPIRY_ACTOR)
        if by_expiry or (expiry is not None and name in expiry.queues):
            if expiry is not None:
                await conn.execute(credential_expiries.delete().where(credential_expiries.c.processor == processor))
            others = await engine.resume_queues(conn, None, actor=actor, paused_by=EXPIRY_ACTOR)
            if not by_expiry:
                await engine.resume_queues(conn, [name], actor=actor)
            return ResumedQueue(name, cleared=expiry, also_resumed=others)
    await engine.resume(name, actor=actor)
    return ResumedQueue(name)


__all__ = [
    "EXPIRY_ACTOR",
    "CredentialsExpiry",
    "ResumedQueue",
    "current",
    "mark_expired",
    "read_expiry",
    "resume_queue",
]
