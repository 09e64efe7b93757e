"""Every real Stripe payload in the fixtures, applied to the mirror on SQLite and PostgreSQL.

Each event is applied in its own transaction, in file order, reversed, and shuffled; the mirror must end in
the state a plain-Python model of the watermark rule predicts (newest watermark wins, deletions sticky), and
every child list must match its parent's final state.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
import sqlalchemy as sa

from remit.billing import ApplyStatus, apply_event, get_object
from remit.billing.fields import list_data
from remit.billing.routing import Target, embedded_targets, route
from remit.billing.watermark import Watermark
from remit.runtime import Runtime
from tests.support.fixtures import fixture_events

pytestmark = pytest.mark.timeout(180)

Key = tuple[str, str]


def model(targets: list[Target]) -> dict[Key, tuple[Watermark, dict[str, Any], bool]]:
    """The mirror the rules predict for targets applied in this order."""
    state: dict[Key, tuple[Watermark, dict[str, Any], bool]] = {}
    for target in targets:
        key = (target.kind.name, target.stripe_id)
        current = state.get(key)
        if current is None:
            state[key] = (target.watermark, dict(target.data), target.deleting)
        elif target.deleting:
            if target.watermark > current[0]:
                # a bare deletion stub says nothing about the object: its last state stays
                state[key] = (target.watermark, current[1] if target.is_stub else dict(target.data), True)
            else:
                state[key] = (current[0], current[1], True)
        elif not current[2] and target.watermark > current[0]:
            state[key] = (target.watermark, dict(target.data), False)
    return state


def _order(events: list[tuple[str, dict[str, Any]]], order: str) -> list[tuple[str, dict[str, Any]]]:
    if order == "reversed":
        return list(reversed(events))
    if order == "shuffled":
        shuffled = list(events)
        random.Random(2026).shuffle(shuffled)
        return shuffled
    return events


@pytest.mark.parametrize("order", ["file", "reversed", "shuffled"])
async def test_every_fixture_event_applies_and_the_mirror_matches_the_model(runtime: Runtime, order: str) -> None:
    events = _order(fixture_events(), order)
    applied: list[Target] = []
    for name, event in events:
        async with runtime.db.begin() as conn:
            result = await apply_event(conn, runtime, event)
        routed = route(event)
        if isinstance(routed, Target):
            assert result.status != ApplyStatus.IGNORED, name
            assert (result.object_type, result.object_id) == (routed.kind.name, routed.stripe_id), name
            applied.extend([routed, *embedded_targets(routed)])
        else:
            assert result.status == ApplyStatus.IGNORED, name
    expected = model(applied)
    assert len(expected) > 40
    async with runtime.db.connect() as conn:
        for (object_type, stripe_id), (watermark, data, deleted) in expected.items():
            record = await get_object(conn, object_type, stripe_id)
            assert record is not None, stripe_id
            assert record.watermark == watermark, stripe_id
            assert record.deleted == deleted, stripe_id
            assert record.data == json.loads(json.dumps(data)), stripe_id
            for child in record_children(object_type):
                listed = list_data(data.get(child[0]))
                if listed is None or not listed[1]:
                    continue
                table, parent_column = child[1], child[2]
                live = (
                    (
                        await conn.execute(
                            sa.select(table.c.stripe_id).where(
                                table.c[parent_column] == stripe_id, sa.not_(table.c.deleted)
                            )
                        )
                    )
                    .scalars()
                    .all()
                )
                assert sorted(live) == sorted({item["id"] for item in listed[0] if item.get("id")}), stripe_id


def record_children(object_type: str) -> list[tuple[str, sa.Table, str]]:
    from remit.billing.kinds import KINDS

    return [(child.field, child.table, child.parent_column) for child in KINDS[object_type].children]


async def test_applying_every_fixture_twice_changes_nothing(runtime: Runtime) -> None:
    events = fixture_events()
    for _, event in events:
        async with runtime.db.begin() as conn:
            await apply_event(conn, runtime, event)
    from remit.billing.kinds import KINDS

    async def snapshot() -> dict[str, list[Any]]:
        async with runtime.db.connect() as conn:
            tables = {kind.table for kind in KINDS.values()} | {
                child.table for kind in KINDS.values() for child in kind.children
            }
            return {
                table.name: [
                    dict(row) for row in (await conn.execute(sa.select(table).order_by(table.c.id))).mappings()
                ]
                for table in tables
            }

    before = await snapshot()
    for _, event in events:
        async with runtime.db.begin() as conn:
            result = await apply_event(conn, runtime, event)
        assert result.status in (ApplyStatus.SKIPPED_STALE, ApplyStatus.IGNORED, ApplyStatus.DELETED)
        # a re-delivered delete only ever finds the flag already set
        assert result.status != ApplyStatus.DELETED
    assert await snapshot() == before
