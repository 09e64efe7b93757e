"""The rows one delivery writes — event, dispatch job, ledger entry — built by pure functions.

Both writers (:mod:`remit.webhooks.writers`) insert exactly these, so the generic path and the PostgreSQL
one-statement path cannot drift apart; the job row is the engine's own (:meth:`remit.jobs.engine.Engine.build_row`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from remit import ledger
from remit.jobs.rows import JobRequest
from remit.runtime import Runtime
from remit.webhooks.dispatch import dispatch_event
from remit.webhooks.envelope import Envelope
from remit.webhooks.events import EventStatus

LEDGER_TYPE = "webhook.received"
LEDGER_ACTOR = "processor"
#: The ledger's idempotency key and subject column widths.
MAX_LEDGER_KEY = 255
MAX_LEDGER_SUBJECT = 255


def event_row(
    runtime: Runtime, endpoint: str, envelope: Envelope, text: str, now: datetime, *, held: bool = False
) -> dict[str, Any]:
    """The ``remit_webhook_events`` row for a verified delivery: ``held`` (no dispatch job) while billing is
    off or an emergency stop is in force (the caller asks ``runtime.flags``)."""
    status = EventStatus.HELD if held else EventStatus.RECEIVED
    return {
        "endpoint": endpoint,
        "processor": runtime.settings.processor,
        "event_id": envelope.event_id,
        "type": envelope.type,
        "livemode": envelope.livemode,
        "api_version": envelope.api_version,
        "account": envelope.account,
        "status": status.value,
        "body": text,
        "object_id": envelope.object_id,
        "object_type": envelope.object_type,
        "event_created_at": envelope.created,
        "received_at": now,
        "attempts": 0,
        "last_error": None,
        "handler_results": {},
        "processed_at": None,
        "dead_at": None,
    }


def job_request(runtime: Runtime, event_row_id: int) -> JobRequest:
    """The dispatch job of a stored event."""
    return JobRequest(
        dispatch_event, {"webhook_event_id": event_row_id}, max_attempts=runtime.settings.webhook_max_attempts
    )


def job_row(runtime: Runtime, event_row_id: int, now: datetime) -> dict[str, Any]:
    """The dispatch job's row, exactly as the engine's enqueue inserts it."""
    return runtime.engine.build_row(job_request(runtime, event_row_id), now)


def ledger_key(processor: str, event_id: str) -> str:
    """``webhook.received:<processor>:<event id>``; an id too long for the key column is digested."""
    key = f"{LEDGER_TYPE}:{processor}:{event_id}"
    if len(key) <= MAX_LEDGER_KEY:
        return key
    return f"{LEDGER_TYPE}:{processor}:sha256:{hashlib.sha256(event_id.encode()).hexdigest()}"


def ledger_subject(row: dict[str, Any]) -> str:
    """What the ledger entry is about: the event's object when it names one, else the event itself."""
    if row["object_type"] and row["object_id"]:
        return f"{row['object_type']}:{row['object_id']}"[:MAX_LEDGER_SUBJECT]
    return f"event:{row['event_id']}"[:MAX_LEDGER_SUBJECT]


def ledger_data(row: dict[str, Any]) -> dict[str, Any]:
    """The ledger entry's data, identifiers only (the writers add the row id once it is known)."""
    data = {
        "event_id": row["event_id"],
        "processor": row["processor"],
        "endpoint": row["endpoint"],
        "event_type": row["type"],
        "livemode": row["livemode"],
        "object_id": row["object_id"],
        "object_type": row["object_type"],
    }
    refused = ledger.pii_keys_in(data)
    if refused:  # pragma: no cover - the keys above are fixed
        raise ValueError(f"ledger data must not hold personal data: {refused}")
    return data


__all__ = [
    "LEDGER_ACTOR",
    "LEDGER_TYPE",
    "event_row",
    "job_request",
    "job_row",
    "ledger_data",
    "ledger_key",
    "ledger_subject",
]
