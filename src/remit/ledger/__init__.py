"""The append-only ledger of billing events, with schema versions and upcasters.

Every billing fact remit learns or causes (a webhook received, an object projected, an operator's replay) can
be appended here in the same transaction as the change itself, under a unique idempotency key. Rows are never
updated or deleted (triggers in the database refuse both); when an event type's data changes shape, an
upcaster brings old rows to the current shape as they are read. See ``docs/ledger.md``.

    await ledger.record(conn, type="webhook.received", subject="customer:cus_123", actor="processor",
                        data={"event_id": "evt_1"}, idempotency_key="webhook:stripe:evt_1")
    events = await ledger.read(conn, subject="customer:cus_123")
"""

from remit.ledger.events import PII_KEYS, LedgerEvent, pii_keys_in
from remit.ledger.store import DEFAULT_READ_LIMIT, read, record, record_many, upcast, use_clock
from remit.ledger.upcasters import Upcaster, UpcasterRegistry, default_registry, upcaster

__all__ = [
    "DEFAULT_READ_LIMIT",
    "PII_KEYS",
    "LedgerEvent",
    "Upcaster",
    "UpcasterRegistry",
    "default_registry",
    "pii_keys_in",
    "read",
    "record",
    "record_many",
    "upcast",
    "upcaster",
    "use_clock",
]
