"""Replaying dead (or failed) webhook events after the cause is fixed.

A replay moves the event back to ``received`` and queues a fresh dispatch job with a full set of attempts.
Handlers that already succeeded for the event are not run again (their success is recorded on the row), so
replaying after a fix runs exactly what had not yet worked. A ``failed`` event already has its retry queued:
replaying it brings that retry forward to now rather than adding a second job.

Bulk replays take a cap (``limit``) and a ``stagger``: the ``n``-th event's job runs ``n * stagger`` seconds
later, so a thousand dead events do not hit a recovering handler at once. A dry run counts what would be
replayed and changes nothing. Real replays write an audit row per batch in the same transaction and emit
``webhook_dlq.replay``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit import audit
from remit.db.tables import webhook_events
from remit.errors import WebhookError
from remit.runtime import Runtime
from remit.telemetry import ops
from remit.webhooks import store
from remit.webhooks.dead_letters import BULK_SUBJECT, EVENT_SUBJECT, EventFilter, matching_ids
from remit.webhooks.dispatch import dispatch_event, enqueue_dispatches
from remit.webhooks.events import REPLAYABLE, EventStatus

REPLAY_BATCH = 500


@dataclass(frozen=True)
class ReplayResult:
    """``matched`` events were found; ``replayed`` were moved to ``received`` with a job queued (or, for
    failed ones, their pending retry brought forward: ``hurried``)."""

    matched: int
    replayed: int
    hurried: int
    dry_run: bool
    by_type: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    event_row_ids: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "replayed": self.replayed,
            "hurried": self.hurried,
            "dry_run": self.dry_run,
            "by_type": self.by_type,
            "by_status": self.by_status,
            "ids": self.event_row_ids,
        }


async def replay_event(runtime: Runtime, event_row_id: int, *, actor: str) -> ReplayResult:
    """Replay one event; ``not_found`` (404) or ``not_replayable`` (409) otherwise."""
    async with runtime.db.connect() as conn:
        event = await store.get(conn, event_row_id)
    if event is None:
        raise WebhookError("not_found", f"no webhook event {event_row_id}", status_code=404)
    if event.status not in REPLAYABLE:
        why = (
            " (every handler already succeeded: a replay would run nothing)"
            if event.status is EventStatus.PROCESSED
            else ""
        )
        raise WebhookError(
            "not_replayable",
            f"webhook event {event_row_id} is {event.status}{why}; only "
            f"{' and '.join(sorted(REPLAYABLE))} events can be replayed",
            status_code=409,
        )
    replayed, hurried = await _replay_ids(
        runtime,
        [event_row_id],
        actor=actor,
        stagger=0.0,
        subject=EVENT_SUBJECT.format(id=event_row_id),
        details={"id": event_row_id},
    )
    return ReplayResult(
        matched=1,
        replayed=len(replayed),
        hurried=hurried,
        dry_run=False,
        by_type={event.type: 1},
        by_status={event.status.value: 1},
        event_row_ids=replayed,
    )


async def replay_matching(
    runtime: Runtime,
    event_filter: EventFilter,
    *,
    actor: str,
    dry_run: bool = False,
    limit: int | None = None,
    stagger: float = 0.0,
) -> ReplayResult:
    """Replay every event ``event_filter`` matches (oldest first, at most ``limit``)."""
    statuses = event_filter.statuses or (EventStatus.DEAD,)
    if not set(statuses) <= REPLAYABLE:
        raise WebhookError("not_replayable", f"only {' and '.join(sorted(REPLAYABLE))} events can be replayed")
    if stagger < 0 or (limit is not None and limit < 1):
        raise WebhookError("invalid_request", "stagger must be >= 0 and limit >= 1")
    effective = EventFilter(
        statuses=tuple(statuses),
        type_pattern=event_filter.type_pattern,
        since=event_filter.since,
        endpoint=event_filter.endpoint,
    )
    async with runtime.db.connect() as conn:
        ids = await matching_ids(conn, effective, limit=limit)
        by_type, by_status = await _tallies(conn, ids)
    if dry_run:
        return ReplayResult(
            matched=len(ids),
            replayed=0,
            hurried=0,
            dry_run=True,
            by_type=by_type,
            by_status=by_status,
            event_row_ids=ids,
        )
    details = {**effective.to_json(), "limit": limit, "stagger": stagger}
    replayed, hurried = await _replay_ids(
        runtime, ids, actor=actor, stagger=stagger, subject=BULK_SUBJECT, details=details
    )
    return ReplayResult(
        matched=len(ids),
        replayed=len(replayed),
        hurried=hurried,
        dry_run=False,
        by_type=by_type,
        by_status=by_status,
        event_row_ids=replayed,
    )


async def _replay_ids(
    runtime: Runtime, ids: Sequence[int], *, actor: str, stagger: float, subject: str, details: dict[str, Any]
) -> tuple[list[int], int]:
    """Replay ``ids`` in batches, one transaction each; the ids replayed and how many retries were hurried."""
    replayed: list[int] = []
    hurried = 0
    for start in range(0, len(ids), REPLAY_BATCH):
        batch = ids[start : start + REPLAY_BATCH]
        async with runtime.db.begin() as conn:
            moved = await store.move_many(conn, batch, EventStatus.RECEIVED, only_from=sorted(REPLAYABLE), dead_at=None)
            queued = await enqueue_dispatches(conn, runtime, moved, stagger=stagger, start_index=len(replayed))
            if len(queued) < len(moved):
                hurried += await _hurry_pending(conn, runtime, moved)
            await audit.record(
                conn,
                at=runtime.clock.now(),
                actor=actor,
                action="webhooks.replay",
                subject=subject,
                details={**details, "ids": moved},
            )
        replayed.extend(moved)
    ops.emit(
        "webhook_dlq.replay",
        actor=actor,
        matched=len(ids),
        replayed=len(replayed),
        hurried=hurried,
        dry_run=False,
        status=",".join(details.get("statuses", [])) or None,
        event_type=details.get("type"),
        since=details.get("since"),
        stagger=stagger,
        limit=details.get("limit"),
        event_id=details.get("id"),
    )
    return replayed, hurried


async def _hurry_pending(conn: AsyncConnection, runtime: Runtime, event_row_ids: Sequence[int]) -> int:
    """Bring forward the pending retries of events that already had a dispatch job queued."""
    keys = [dispatch_event.unique_key({"webhook_event_id": row_id}) for row_id in event_row_ids]
    return await runtime.engine.hurry(conn, [key for key in keys if key is not None])


async def _tallies(conn: AsyncConnection, ids: Sequence[int]) -> tuple[dict[str, int], dict[str, int]]:
    by_type: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    for start in range(0, len(ids), REPLAY_BATCH):
        batch = list(ids[start : start + REPLAY_BATCH])
        stmt = (
            sa.select(webhook_events.c.type, webhook_events.c.status, sa.func.count())
            .where(webhook_events.c.id.in_(batch))
            .group_by(webhook_events.c.type, webhook_events.c.status)
        )
        for event_type, status, count in await conn.execute(stmt):
            by_type[event_type] += int(count)
            by_status[status] += int(count)
    return dict(by_type), dict(by_status)


__all__ = ["ReplayResult", "replay_event", "replay_matching"]
