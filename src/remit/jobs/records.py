"""The job record, as read from ``remit_jobs``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from remit.db.errors import database_error_text, is_database_error
from remit.jobs.states import JobState
from remit.telemetry.redaction import mask_text, redact_value

#: The columns a claim returns, in :meth:`Job.claimed` order.
CLAIM_COLUMN_NAMES = (
    "id",
    "queue",
    "name",
    "args",
    "attempt",
    "max_attempts",
    "priority",
    "scheduled_at",
    "timeout",
    "meta",
)

#: Error messages kept on a job are cut to this many characters.
ERROR_MESSAGE_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Job:
    """One job. A freshly claimed job carries only what running it needs: ``errors`` is then ``None`` (not
    loaded — the worker reads them in the transaction that records a failure) and ``inserted_at`` and
    ``unique_key`` are unknown."""

    id: int
    queue: str
    name: str
    args: dict[str, Any]
    state: JobState
    priority: int
    attempt: int
    max_attempts: int
    unique_key: str | None
    scheduled_at: datetime
    inserted_at: datetime | None
    attempted_at: datetime | None
    finished_at: datetime | None
    attempted_by: str | None
    timeout: float | None
    errors: list[dict[str, Any]] | None = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Job:
        return cls(
            id=int(row["id"]),
            queue=row["queue"],
            name=row["name"],
            args=dict(row["args"] or {}),
            state=JobState(row["state"]),
            priority=int(row["priority"]),
            attempt=int(row["attempt"]),
            max_attempts=int(row["max_attempts"]),
            unique_key=row["unique_key"],
            scheduled_at=row["scheduled_at"],
            inserted_at=row["inserted_at"],
            attempted_at=row["attempted_at"],
            finished_at=row["finished_at"],
            attempted_by=row["attempted_by"],
            timeout=row["timeout"],
            errors=list(row["errors"] or []),
            meta=dict(row["meta"] or {}),
        )

    @classmethod
    def claimed(cls, row: Sequence[Any], *, worker_id: str, now: datetime) -> Job:
        """A job from a claim's RETURNING row, in :data:`CLAIM_COLUMN_NAMES` order.

        A claim builds hundreds of these at once, and a frozen dataclass's ``__init__`` goes through
        ``object.__setattr__`` per field (about ten times the cost of a plain one): this fills the slots
        through their descriptors instead — the same object, still frozen to everyone else."""
        job_id, queue, name, args, attempt, max_attempts, priority, scheduled_at, timeout, meta = row
        job: Job = object.__new__(cls)
        put = _PUT
        put["id"](job, job_id)
        put["queue"](job, queue)
        put["name"](job, name)
        put["args"](job, args or {})
        put["state"](job, JobState.EXECUTING)
        put["priority"](job, priority)
        put["attempt"](job, attempt)
        put["max_attempts"](job, max_attempts)
        put["unique_key"](job, None)
        put["scheduled_at"](job, scheduled_at)
        put["inserted_at"](job, None)
        put["attempted_at"](job, now)
        put["finished_at"](job, None)
        put["attempted_by"](job, worker_id)
        put["timeout"](job, timeout)
        put["errors"](job, None)
        put["meta"](job, meta or {})
        return job

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready view for the CLI and the API (args included: they hold identifiers only). The errors
        pass through :func:`~remit.telemetry.redaction.redact_value`, as in the logs: ones stored before
        :func:`error_message` existed, or by another version, may quote a key or an email."""
        return {
            "id": self.id,
            "queue": self.queue,
            "name": self.name,
            "args": self.args,
            "state": str(self.state),
            "priority": self.priority,
            "attempt": self.attempt,
            "max_attempts": self.max_attempts,
            "unique_key": self.unique_key,
            "scheduled_at": self.scheduled_at.isoformat(),
            "inserted_at": self.inserted_at.isoformat() if self.inserted_at else None,
            "attempted_at": self.attempted_at.isoformat() if self.attempted_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "attempted_by": self.attempted_by,
            "errors": redact_value(self.errors or []),
            "meta": self.meta,
        }


#: Each field's slot setter by name (what :meth:`Job.claimed` fills; a field it forgot stays unset and fails
#: loudly on first read, and the claim tests read every field).
_PUT: dict[str, Any] = {f.name: getattr(Job, f.name).__set__ for f in fields(Job)}


def error_message(exc: BaseException) -> str:
    """What may be kept of an exception's message (stored on a job or a webhook event, shown to operators).

    A database error says its classes and SQLSTATE (or SQLite code) only: the driver's text quotes the
    statement and its parameters — a raw body, a customer's name and email. Any other message is cut to
    :data:`ERROR_MESSAGE_LIMIT` characters and passed through the one redaction (keys, tokens, emails)."""
    message = database_error_text(exc) if is_database_error(exc) else mask_text(str(exc))
    if len(message) > ERROR_MESSAGE_LIMIT:
        message = message[: ERROR_MESSAGE_LIMIT - 1] + "…"
    return message


def describe_error(exc: BaseException, attempt: int, at: datetime) -> dict[str, Any]:
    """What is kept of a failed attempt: the exception type and :func:`error_message`, never a traceback
    (tracebacks carry local values, and those may be secrets or customer data)."""
    return {"attempt": attempt, "at": at.isoformat(), "type": type(exc).__name__, "message": error_message(exc)}
