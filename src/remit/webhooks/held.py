"""Held events: stored while billing was switched off, dispatched once it is on again.

With ``REMIT_FLAG_BILLING=false`` ingest stores events as ``held`` and queues nothing, so no handler runs
while billing is off, yet nothing the processor sent is lost. :func:`release_held` — called when the service
and the worker start, and by ``remit webhooks release`` — queues their dispatch jobs in arrival order.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from remit.db.tables import webhook_events
from remit.runtime import Runtime
from remit.webhooks.dispatch import enqueue_dispatches
from remit.webhooks.events import EventStatus, check_transition

log = logging.getLogger("remit.webhooks")

RELEASE_BATCH = 500


async def release_held(runtime: Runtime, *, batch: int = RELEASE_BATCH) -> int:
    """Move every ``held`` event to ``received`` and queue its dispatch; the number released.

    Does nothing while billing is still switched off. Each batch is one transaction (status change and jobs
    together); the guarded UPDATE makes two releasing processes split the work instead of doubling it.
    """
    if not runtime.settings.flag_billing:
        return 0
    check_transition(EventStatus.HELD, EventStatus.RECEIVED)
    released = 0
    while True:
        async with runtime.db.begin() as conn:
            oldest = (
                sa.select(webhook_events.c.id)
                .where(webhook_events.c.status == EventStatus.HELD.value)
                .order_by(webhook_events.c.id)
                .limit(batch)
                .scalar_subquery()
            )
            stmt = (
                sa.update(webhook_events)
                .where(webhook_events.c.id.in_(oldest), webhook_events.c.status == EventStatus.HELD.value)
                .values(status=EventStatus.RECEIVED.value)
                .returning(webhook_events.c.id)
            )
            ids = sorted(row[0] for row in await conn.execute(stmt))
            await enqueue_dispatches(conn, runtime, ids)
        released += len(ids)
        if len(ids) < batch:
            break
    if released:
        log.info("held webhook events released", extra={"count": released})
    return released


__all__ = ["release_held"]
