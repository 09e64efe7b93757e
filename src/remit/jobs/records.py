"""The job record, as read from ``remit_jobs``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from remit.jobs.states import JobState

#: Error messages kept on a job are cut to this many characters.
ERROR_MESSAGE_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Job:
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
    inserted_at: datetime
    attempted_at: datetime | None
    finished_at: datetime | None
    attempted_by: str | None
    timeout: float | None
    errors: list[dict[str, Any]] = field(default_factory=list)
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

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready view for the CLI and the API (args included: they hold identifiers only)."""
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
            "inserted_at": self.inserted_at.isoformat(),
            "attempted_at": self.attempted_at.isoformat() if self.attempted_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "attempted_by": self.attempted_by,
            "errors": self.errors,
            "meta": self.meta,
        }


def describe_error(exc: BaseException, attempt: int, at: datetime) -> dict[str, Any]:
    """What is kept of a failed attempt: the exception type and a truncated message, never a traceback
    (tracebacks carry local values, and those may be secrets or customer data)."""
    message = str(exc)
    if len(message) > ERROR_MESSAGE_LIMIT:
        message = message[: ERROR_MESSAGE_LIMIT - 1] + "…"
    return {"attempt": attempt, "at": at.isoformat(), "type": type(exc).__name__, "message": message}
