"""A host module for the database fault tests: one handler that records each committed dispatch of an event.

The row is written on the handler's own connection, in the dispatch transaction: it exists exactly when that
dispatch committed, so two rows for one event mean the event was processed twice.
"""

from __future__ import annotations

import sqlalchemy as sa

from remit import HandlerContext, on_event

CREATE_EVENT_RUNS = "CREATE TABLE IF NOT EXISTS test_event_runs (event_id VARCHAR(255) NOT NULL)"
event_runs = sa.table("test_event_runs", sa.column("event_id"))


@on_event("*", name="test.count_dispatches")
async def count_dispatches(ctx: HandlerContext) -> None:
    await ctx.conn.execute(sa.insert(event_runs).values(event_id=ctx.event.event_id))


__all__ = ["CREATE_EVENT_RUNS", "count_dispatches", "event_runs"]
