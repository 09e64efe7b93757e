"""Held events: stored while billing was switched off (or an emergency stop was in force), dispatched after.

While the ``billing`` flag is off or ``remit stop --all`` is in force (:mod:`remit.flags`), ingest stores events
as ``held`` and queues nothing, so no handler runs, yet nothing the processor sent is lost. :func:`release_held`
queues their dispatch jobs in arrival order once both are over. It runs when billing is switched on
(``remit flags set billing on``), when the emergency stop ends (``remit start --all``), when the service and
the worker start, by hand (``remit webhooks release``), and every :data:`RELEASE_EVERY_S` seconds on the
leader (:data:`RELEASE_TASK`), which catches an event a process parked as ``held`` a moment after the switch,
while its view of the flags was still the old one.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from remit.db.tables import webhook_events
from remit.jobs.context import PeriodicContext
from remit.periodic import Counts, Every, PeriodicTask
from remit.runtime import Runtime
from remit.webhooks.dispatch import enqueue_dispatches
from remit.webhooks.events import EventStatus, check_transition

log = logging.getLogger("remit.webhooks")

RELEASE_BATCH = 500
#: How often the leader looks for held events to release (one indexed query when there are none).
RELEASE_EVERY_S = 10
RELEASE_TASK_NAME = "webhooks.release_held"


async def release_held(runtime: Runtime, *, batch: int = RELEASE_BATCH) -> int:
    """Move every ``held`` event to ``received`` and queue its dispatch; the number released.

    Does nothing while billing is switched off or an emergency stop is in force (read from the database, not
    this process's cache). Each batch is one transaction (status change and jobs together); the guarded
    UPDATE makes two releasing processes split the work instead of doubling it.
    """
    if not (await runtime.flags.switches(fresh=True)).dispatching:
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
        runtime.wake_workers()
    return released


async def release_on_schedule(ctx: PeriodicContext[Runtime]) -> Counts:
    """The periodic release: what :func:`release_held` released (0 while billing is off)."""
    return {"released": await release_held(ctx.app)}


#: Every 10 s, on the leader, inline: a lone indexed query when nothing is held.
RELEASE_TASK: PeriodicTask[PeriodicContext[Runtime]] = PeriodicTask(
    RELEASE_TASK_NAME, Every(RELEASE_EVERY_S), release_on_schedule
)

__all__ = ["RELEASE_EVERY_S", "RELEASE_TASK", "RELEASE_TASK_NAME", "release_held", "release_on_schedule"]
