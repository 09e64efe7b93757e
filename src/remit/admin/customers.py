"""What the customer page shows: the mirrored customer with its subscriptions, invoices and charges, the mail
remit owes or sent them, and the ledger timeline of all those objects — each object with a link to the same
object in the processor's dashboard (:mod:`remit.processor.dashboard`), so an operator checks both layers.

Every read goes by the customer id through an index (the mirror's ``customer_id`` indexes, the mail log's, the
ledger's ``(subject, id)``). The customer's email and name are shown to the logged-in admin on the page itself;
they are never put in a URL or logged (pages are addressed by the processor's customer id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.billing.mirror import MirrorRecord, get_object, list_objects
from remit.db.tables import ledger_events, mail_log
from remit.processor.dashboard import dashboard_url

#: How many of each kind of object the page lists (newest first).
LIMIT = 50


@dataclass(frozen=True, slots=True)
class Linked:
    """A mirrored object and its dashboard link (None: the processor has no dashboard)."""

    record: MirrorRecord
    dashboard: str | None

    @property
    def data(self) -> dict[str, Any]:
        return self.record.data


@dataclass(frozen=True, slots=True)
class CustomerView:
    customer: Linked
    subscriptions: list[Linked]
    invoices: list[Linked]
    charges: list[Linked]
    mail: list[dict[str, Any]]
    timeline: list[dict[str, Any]] = field(default_factory=list)


def _linked(processor: str, record: MirrorRecord) -> Linked:
    return Linked(record, dashboard_url(processor, record.object_type, record.stripe_id, livemode=record.livemode))


async def list_customers(conn: AsyncConnection, processor: str, *, limit: int = LIMIT) -> list[Linked]:
    """The newest mirrored customers."""
    page = await list_objects(conn, "customer", limit=limit)
    return [_linked(processor, record) for record in page.records]


async def read_customer(conn: AsyncConnection, processor: str, customer_id: str) -> CustomerView | None:
    """Everything the customer page shows, or None when the mirror never saw this customer."""
    customer = await get_object(conn, "customer", customer_id)
    if customer is None:
        return None
    owned: dict[str, list[Linked]] = {}
    for object_type in ("subscription", "invoice", "charge"):
        page = await list_objects(conn, object_type, filters={"customer_id": customer_id}, limit=LIMIT)
        owned[object_type] = [_linked(processor, record) for record in page.records]
    mail_rows = await conn.execute(
        sa.select(mail_log.c.id, mail_log.c.kind, mail_log.c.state, mail_log.c.subject_id, mail_log.c.created_at)
        .add_columns(mail_log.c.sent_at, mail_log.c.deliveries)
        .where(mail_log.c.customer_id == customer_id)
        .order_by(mail_log.c.id.desc())
        .limit(LIMIT)
    )
    subjects = [f"customer:{customer_id}"] + [
        f"{kind}:{linked.record.stripe_id}" for kind, items in owned.items() for linked in items
    ]
    ledger_rows = await conn.execute(
        sa.select(ledger_events.c.id, ledger_events.c.type, ledger_events.c.subject, ledger_events.c.actor)
        .add_columns(ledger_events.c.recorded_at, ledger_events.c.data)
        .where(ledger_events.c.subject.in_(subjects))
        .order_by(ledger_events.c.id.desc())
        .limit(LIMIT * 2)
    )
    return CustomerView(
        customer=_linked(processor, customer),
        subscriptions=owned["subscription"],
        invoices=owned["invoice"],
        charges=owned["charge"],
        mail=[dict(row) for row in mail_rows.mappings()],
        timeline=[dict(row) for row in ledger_rows.mappings()],
    )


__all__ = ["LIMIT", "CustomerView", "Linked", "list_customers", "read_customer"]
