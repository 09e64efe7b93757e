"""The webhook event record, its statuses, and the one table of transitions between them.

- ``held``: stored while billing is switched off (``REMIT_FLAG_BILLING=false``); no dispatch job yet.
- ``received``: stored, its dispatch job queued.
- ``processing``: a dispatch attempt is running.
- ``processed``: every handler succeeded (or the type has none).
- ``failed``: the last attempt failed; the dispatch job will retry with backoff.
- ``dead``: the last attempt failed; nothing retries it until an operator replays it.

The table is :data:`EVENT_STATES`, a :class:`~remit.statemachine.StateMachine`: every status change is a guarded
UPDATE it builds, whose ``WHERE status IN (…)`` is the target's sources, so two workers (or a worker and an
operator) cannot both move the same event. A test walks the whole table (with every other machine remit
declares).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from remit.errors import WebhookError
from remit.statemachine import StateMachine
from remit.telemetry.redaction import redact_value


class EventStatus(StrEnum):
    HELD = "held"
    RECEIVED = "received"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"
    DEAD = "dead"


TRANSITIONS: dict[EventStatus, frozenset[EventStatus]] = {
    EventStatus.HELD: frozenset({EventStatus.RECEIVED}),  # billing switched on: released
    EventStatus.RECEIVED: frozenset(
        {
            EventStatus.PROCESSING,  # a dispatch attempt starts
            EventStatus.HELD,  # billing was switched off before the job ran
            EventStatus.DEAD,  # its job was discarded without running (e.g. timed out every time)
        }
    ),
    EventStatus.PROCESSING: frozenset(
        {
            EventStatus.PROCESSED,  # every handler succeeded
            EventStatus.FAILED,  # a handler failed; the job retries
            EventStatus.PROCESSING,  # its worker died mid-attempt and the job was rescued
            EventStatus.RECEIVED,  # a handler snoozed (e.g. the processor said 429); the job runs later
            EventStatus.DEAD,  # the attempt was cut short (timeout) and it was the last one
        }
    ),
    EventStatus.FAILED: frozenset(
        {
            EventStatus.PROCESSING,  # the retry starts
            EventStatus.DEAD,  # that was the last attempt
            EventStatus.HELD,  # billing was switched off before the retry ran
            EventStatus.RECEIVED,  # an operator replayed it
        }
    ),
    EventStatus.PROCESSED: frozenset(),
    EventStatus.DEAD: frozenset({EventStatus.RECEIVED}),  # an operator replayed it
}

#: Statuses an operator may replay from (each must also be a source of ``received`` in the table).
REPLAYABLE = frozenset({EventStatus.DEAD, EventStatus.FAILED})


def _invalid(message: str) -> WebhookError:
    return WebhookError("invalid_transition", message)


EVENT_STATES = StateMachine(
    "webhook_event",
    EventStatus,
    TRANSITIONS,
    terminal=frozenset({EventStatus.PROCESSED, EventStatus.DEAD}),
    error=_invalid,
)


def can_transition(source: EventStatus, target: EventStatus) -> bool:
    return EVENT_STATES.can(source, target)


def check_transition(source: EventStatus, target: EventStatus) -> None:
    """Raise :class:`WebhookError` for a status change the table does not allow."""
    EVENT_STATES.check(source, target)


def sources_of(target: EventStatus) -> frozenset[EventStatus]:
    """Every status from which ``target`` may be reached; the guard of each UPDATE."""
    return EVENT_STATES.sources_of(target)


def source_values(target: EventStatus) -> list[str]:
    """:func:`sources_of` as the strings stored in the column, in a stable order."""
    return EVENT_STATES.source_values(target)


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One stored webhook event. ``body`` is the raw request body; :meth:`to_json` leaves it out unless asked,
    because it may carry customer data (emails, names, addresses)."""

    id: int
    endpoint: str
    processor: str
    event_id: str
    type: str
    livemode: bool
    api_version: str | None
    account: str | None
    status: EventStatus
    object_id: str | None
    object_type: str | None
    event_created_at: datetime | None
    received_at: datetime
    attempts: int
    last_error: dict[str, Any] | None
    processed_at: datetime | None
    dead_at: datetime | None
    handler_results: dict[str, Any] = field(default_factory=dict)
    body: str | None = field(default=None, repr=False)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> WebhookEvent:
        return cls(
            id=int(row["id"]),
            endpoint=row["endpoint"],
            processor=row["processor"],
            event_id=row["event_id"],
            type=row["type"],
            livemode=bool(row["livemode"]),
            api_version=row["api_version"],
            account=row["account"],
            status=EventStatus(row["status"]),
            object_id=row["object_id"],
            object_type=row["object_type"],
            event_created_at=row["event_created_at"],
            received_at=row["received_at"],
            attempts=int(row["attempts"]),
            last_error=dict(row["last_error"]) if row["last_error"] else None,
            processed_at=row["processed_at"],
            dead_at=row["dead_at"],
            handler_results=dict(row["handler_results"] or {}),
            body=row.get("body"),
        )

    def to_json(self, *, include_body: bool = False) -> dict[str, Any]:
        """A JSON-ready view for the CLI and the API; the raw body only with ``include_body``.

        Stored errors and handler results hold exception texts a host's handler wrote, which may quote a key
        or an email: they pass through :func:`~remit.telemetry.redaction.redact_value`, as in the logs."""
        data: dict[str, Any] = {
            "id": self.id,
            "endpoint": self.endpoint,
            "processor": self.processor,
            "event_id": self.event_id,
            "type": self.type,
            "livemode": self.livemode,
            "api_version": self.api_version,
            "account": self.account,
            "status": self.status.value,
            "object_id": self.object_id,
            "object_type": self.object_type,
            "event_created_at": _iso(self.event_created_at),
            "received_at": _iso(self.received_at),
            "attempts": self.attempts,
            "last_error": redact_value(self.last_error),
            "handler_results": redact_value(self.handler_results),
            "processed_at": _iso(self.processed_at),
            "dead_at": _iso(self.dead_at),
        }
        if include_body:
            data["body"] = self.body
        return data


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


__all__ = [
    "EVENT_STATES",
    "REPLAYABLE",
    "TRANSITIONS",
    "EventStatus",
    "WebhookEvent",
    "can_transition",
    "check_transition",
    "source_values",
    "sources_of",
]
