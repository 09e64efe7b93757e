"""Two workers applying two events of one object at once, on SQLite and PostgreSQL, interleaved on purpose.

Worker A applies its event and holds its transaction open; worker B applies another event of the same object
meanwhile. B must wait for A (PostgreSQL: the conflicting row or unique-index entry is locked; SQLite: the
write lock of ``BEGIN IMMEDIATE``) and then decide against what A committed, never against what it saw
before — so whichever order the two commit in, the mirror ends in the newer state, and deletions stay sticky.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
import sqlalchemy as sa

from remit.billing import ApplyResult, ApplyStatus, apply_event, get_object
from remit.db.tables import customers, subscription_items
from remit.runtime import Runtime

pytestmark = pytest.mark.timeout(120)

BASE = 1_772_366_400
#: How long B is given to (wrongly) get past A's open transaction before A commits.
BLOCKED_FOR = 0.5


def event(event_type: str, obj: Mapping[str, Any], *, at: int, event_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": at,
        "livemode": False,
        "data": {"object": dict(obj)},
    }


def customer(balance: int, **extra: Any) -> dict[str, Any]:
    return {"id": "cus_race", "object": "customer", "balance": balance, **extra}


async def apply(runtime: Runtime, evt: Mapping[str, Any]) -> ApplyResult:
    async with runtime.db.begin() as conn:
        return await apply_event(conn, runtime, evt)


async def race(
    runtime: Runtime, first: Mapping[str, Any], second: Mapping[str, Any], *, commit_first: bool = True
) -> tuple[ApplyResult, ApplyResult]:
    """A applies ``first`` and keeps its transaction open while B applies ``second``; B must not finish
    before A commits (or rolls back)."""
    conn = await runtime.db.engine.connect()
    try:
        transaction = await conn.begin()
        first_result = await apply_event(conn, runtime, first)
        second_task = asyncio.create_task(apply(runtime, second))
        await asyncio.sleep(BLOCKED_FOR)
        assert not second_task.done(), "B went past A's uncommitted write of the same object"
        if commit_first:
            await transaction.commit()
        else:
            await transaction.rollback()
    finally:
        await conn.close()
    return first_result, await asyncio.wait_for(second_task, timeout=60)


async def balance(runtime: Runtime) -> tuple[Any, ...]:
    async with runtime.db.connect() as conn:
        record = await get_object(conn, "customer", "cus_race")
    assert record is not None
    return record.data["balance"], record.watermark.event_id, record.deleted


@pytest.mark.parametrize("existing", [False, True], ids=["new-row", "existing-row"])
async def test_an_older_event_racing_a_newer_one_waits_and_is_skipped(runtime: Runtime, existing: bool) -> None:
    if existing:
        await apply(runtime, event("customer.created", customer(0), at=BASE - 60, event_id="evt_0"))
    newer = event("customer.updated", customer(2), at=BASE + 1, event_id="evt_newer")
    older = event("customer.updated", customer(1), at=BASE, event_id="evt_older")
    first, second = await race(runtime, newer, older)
    assert (first.status, second.status, second.duplicate) == (ApplyStatus.APPLIED, ApplyStatus.SKIPPED_STALE, False)
    assert await balance(runtime) == (2, "evt_newer", False)


@pytest.mark.parametrize("existing", [False, True], ids=["new-row", "existing-row"])
async def test_a_newer_event_racing_an_older_one_waits_and_wins(runtime: Runtime, existing: bool) -> None:
    if existing:
        await apply(runtime, event("customer.created", customer(0), at=BASE - 60, event_id="evt_0"))
    older = event("customer.updated", customer(1), at=BASE, event_id="evt_older")
    newer = event("customer.updated", customer(2), at=BASE + 1, event_id="evt_newer")
    first, second = await race(runtime, older, newer)
    assert (first.status, second.status) == (ApplyStatus.APPLIED, ApplyStatus.APPLIED)
    assert await balance(runtime) == (2, "evt_newer", False)


async def test_a_same_second_tie_is_decided_the_same_way_in_either_order(runtime: Runtime) -> None:
    """Same second, no hint, same phase: the byte-wise larger event id wins whichever worker commits first."""
    low = event("customer.updated", customer(1), at=BASE, event_id="evt_A")
    high = event("customer.updated", customer(2), at=BASE, event_id="evt_a")
    await race(runtime, high, low)
    assert await balance(runtime) == (2, "evt_a", False)
    async with runtime.db.begin() as conn:
        await conn.execute(sa.delete(customers))
    await race(runtime, low, high)
    assert await balance(runtime) == (2, "evt_a", False)


async def test_a_rolled_back_worker_leaves_the_other_to_insert(runtime: Runtime) -> None:
    newer = event("customer.updated", customer(2), at=BASE + 1, event_id="evt_newer")
    older = event("customer.updated", customer(1), at=BASE, event_id="evt_older")
    _, second = await race(runtime, newer, older, commit_first=False)
    assert second.status == ApplyStatus.APPLIED
    assert await balance(runtime) == (1, "evt_older", False)


async def test_a_newer_update_racing_a_deletion_does_not_resurrect_the_object(runtime: Runtime) -> None:
    await apply(runtime, event("customer.created", customer(0), at=BASE - 60, event_id="evt_0"))
    deleted = event("customer.deleted", customer(0, deleted=True), at=BASE, event_id="evt_deleted")
    update = event("customer.updated", customer(5), at=BASE + 1, event_id="evt_update")
    first, second = await race(runtime, deleted, update)
    assert (first.status, second.status) == (ApplyStatus.DELETED, ApplyStatus.SKIPPED_STALE)
    assert await balance(runtime) == (0, "evt_deleted", True)


async def test_an_older_deletion_racing_a_newer_update_still_marks_the_row_deleted(runtime: Runtime) -> None:
    await apply(runtime, event("customer.created", customer(0), at=BASE - 60, event_id="evt_0"))
    update = event("customer.updated", customer(5), at=BASE + 1, event_id="evt_update")
    deleted = event("customer.deleted", customer(0, deleted=True), at=BASE, event_id="evt_deleted")
    first, second = await race(runtime, update, deleted)
    assert (first.status, second.status, second.reason) == (ApplyStatus.APPLIED, ApplyStatus.DELETED, "older_than_row")
    assert await balance(runtime) == (5, "evt_update", True)


def subscription(items: list[str]) -> dict[str, Any]:
    return {
        "id": "sub_race",
        "object": "subscription",
        "status": "active",
        "customer": "cus_race",
        "items": {
            "object": "list",
            "has_more": False,
            "data": [{"id": item, "object": "subscription_item", "quantity": 1} for item in items],
        },
    }


@pytest.mark.parametrize("newer_first", [True, False])
async def test_racing_parents_leave_the_children_of_the_newer_one(runtime: Runtime, newer_first: bool) -> None:
    newer = event("customer.subscription.updated", subscription(["si_new"]), at=BASE + 1, event_id="evt_newer")
    older = event("customer.subscription.updated", subscription(["si_old"]), at=BASE, event_id="evt_older")
    await race(runtime, *((newer, older) if newer_first else (older, newer)))
    async with runtime.db.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(
                    subscription_items.c.stripe_id,
                    subscription_items.c.deleted,
                    subscription_items.c.watermark_event_id,
                ).order_by(subscription_items.c.stripe_id)
            )
        ).all()
    # the older parent's child is either never written (it lost) or marked removed by the newer complete list
    live = [(row.stripe_id, row.watermark_event_id) for row in rows if not row.deleted]
    assert live == [("si_new", "evt_newer")]
