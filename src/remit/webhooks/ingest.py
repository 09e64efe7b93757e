"""Receiving one webhook: verify, read the envelope, store it durably — or refuse it with a reason.

The answer to the processor depends only on what is durable: a 2xx is given after the transaction holding the
event row, its dispatch job and its ledger entry has committed, never before. Ingest is one transaction
(written by :mod:`remit.webhooks.writers`):

1. ``INSERT … ON CONFLICT (processor, event_id) DO NOTHING RETURNING id`` — a redelivered event returns no
   row, and nothing else is written (the answer is still 200, so the processor stops retrying);
2. only for a new row: the dispatch job (unique on the row) and the ``webhook.received`` ledger entry
   (idempotency key ``webhook.received:<processor>:<event id>``). On PostgreSQL all of it is one statement.

With billing switched off (the ``billing`` flag, :mod:`remit.flags`) or an emergency stop in force, the row is
stored ``held`` and no job is queued; :func:`remit.webhooks.held.release_held` queues them when both are over.

The body is verified once, parsed once (only the envelope is read), and stored as the text that was signed;
it is never re-serialised, logged, or put in an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from remit.errors import WebhookError
from remit.runtime import Runtime
from remit.signing import parse_stripe_header, verify_stripe_header
from remit.webhooks.endpoints import Endpoint
from remit.webhooks.envelope import parse_envelope
from remit.webhooks.events import EventStatus
from remit.webhooks.rows import event_row
from remit.webhooks.writers import EventWriter, TransactionWriter


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What became of a delivery: the stored row's id (None for a duplicate) and its status."""

    event_row_id: int | None
    event_id: str
    type: str
    duplicate: bool
    status: EventStatus | None

    def to_json(self) -> dict[str, Any]:
        return {
            "received": True,
            "duplicate": self.duplicate,
            "id": self.event_row_id,
            "event_id": self.event_id,
            "status": self.status.value if self.status else None,
        }


def decode_body(body: bytes) -> str:
    """The body as text. A body that is not UTF-8 cannot carry a valid signature, and saying so would tell an
    unauthenticated sender more than needed, so it is refused as ``signature_invalid``."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookError("signature_invalid", "no signature matches the payload") from None


async def receive(
    runtime: Runtime,
    endpoint: Endpoint,
    body: bytes,
    signature_header: str | None,
    *,
    writer: EventWriter | None = None,
) -> IngestResult:
    """Verify, parse and store one delivery; raise :class:`~remit.errors.WebhookError` to refuse it.

    ``writer`` defaults to the generic one; the endpoint passes the fastest for its database. Database errors
    propagate unchanged (the API maps "unavailable" to 503)."""
    parsed = parse_stripe_header(signature_header)  # a missing header is reported before the body is read
    text = decode_body(body)
    now = runtime.clock.now()
    verify_stripe_header(
        text,
        signature_header,
        endpoint.secrets,
        tolerance=runtime.settings.webhook_tolerance,
        now=now.timestamp(),
        parsed=parsed,
    )
    envelope = parse_envelope(text)
    held = not (await runtime.flags.switches()).dispatching
    row = event_row(runtime, endpoint.name, envelope, text, now, held=held)
    event_row_id = await (writer or TransactionWriter()).store(runtime, row)
    return IngestResult(
        event_row_id=event_row_id,
        event_id=envelope.event_id,
        type=envelope.type,
        duplicate=event_row_id is None,
        status=EventStatus(row["status"]) if event_row_id is not None else None,
    )


__all__ = ["IngestResult", "decode_body", "receive"]
