"""Every event envelope in the Stripe fixtures is accepted, stored and dispatched without error.

Many fixtures share placeholder ids (``evt_00000000000000``), so each copy is given its own event id; their
objects keep their ids, so the mirror sees several events for one object, as in real life.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from remit.billing import get_object
from remit.billing.routing import Target, embedded_targets, route
from remit.billing.watermark import Watermark
from remit.db.tables import webhook_events
from tests.support.webhooks import (
    client_for,
    counts,
    envelope_fixtures,
    make_runtime,
    post_event,
    webhook_settings,
)


def test_the_fixture_set_is_there() -> None:
    names = [path.name for path in envelope_fixtures()]
    assert len(names) >= 90
    assert any(name.startswith("stripe-ruby-mock__") for name in names)
    assert any(name.startswith("djstripe__event_") for name in names)


async def test_every_fixture_envelope_is_stored_and_dispatched(db_url: str) -> None:
    runtime = make_runtime(webhook_settings(db_url))
    paths = envelope_fixtures()
    try:
        async with client_for(runtime) as client:
            for index, path in enumerate(paths):
                document = json.loads(path.read_text())
                document["id"] = f"evt_fixture_{index:03d}"
                response = await post_event(client, runtime, document)
                assert response.status_code == 200, (path.name, response.text)
                assert response.json()["duplicate"] is False, path.name
        outcomes = await runtime.drain(["remit_webhooks"])
        assert outcomes["completed"] == len(paths), outcomes
        parts = await runtime.drain()  # the other parts' work the events caused: invoice PDFs, mail
        assert parts["retryable"] == parts["discarded"] == 0, parts
        async with runtime.db.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(
                        webhook_events.c.event_id,
                        webhook_events.c.status,
                        webhook_events.c.last_error,
                        webhook_events.c.handler_results,
                    )
                )
            ).all()
        assert len(rows) == len(paths)
        not_processed = [(r.event_id, r.status, r.last_error) for r in rows if r.status != "processed"]
        assert not_processed == []
        assert all(r.handler_results["remit.mirror"]["ok"] is True for r in rows)
        # each one recorded once in the ledger; unknown types stored, acknowledged and ignored by the mirror
        assert await counts(runtime) == (len(paths), len(paths), len(paths))
        results = {r.event_id: r.handler_results["remit.mirror"]["result"] for r in rows}
        for index, path in enumerate(paths):
            routed = route({**json.loads(path.read_text()), "id": "evt_1"})
            result = results[f"evt_fixture_{index:03d}"]
            if isinstance(routed, Target):
                assert (result["object_type"], result["object_id"]) == (routed.kind.name, routed.stripe_id)
                assert result["status"] != "ignored", path.name
            else:
                assert result["status"] == "ignored", path.name
    finally:
        await runtime.close()


async def test_fixture_updates_delivered_newest_first_end_in_the_newest_state(db_url: str) -> None:
    """The fixtures' events, each with its own id, delivered newest first through the endpoint and dispatched:
    every mirrored object ends holding its newest event's state (and deleted, if any event deleted it)."""
    runtime = make_runtime(webhook_settings(db_url))
    documents: list[tuple[Watermark, dict[str, Any]]] = []
    newest: dict[tuple[str, str], tuple[Watermark, dict[str, Any]]] = {}
    deleted: set[tuple[str, str]] = set()
    for index, path in enumerate(envelope_fixtures()):
        document = {**json.loads(path.read_text()), "id": f"evt_fixture_{index:03d}"}
        routed = route(document)
        if not isinstance(routed, Target):
            continue
        documents.append((routed.watermark, document))
        for target in (routed, *embedded_targets(routed)):
            key = (target.kind.name, target.stripe_id)
            if target.deleting:
                deleted.add(key)
            if key not in newest or target.watermark > newest[key][0]:
                newest[key] = (target.watermark, dict(target.data))
    documents.sort(key=lambda pair: pair[0], reverse=True)
    try:
        async with client_for(runtime) as client:
            for _, document in documents:
                assert (await post_event(client, runtime, document)).status_code == 200
        outcomes = await runtime.drain(["remit_webhooks"])
        assert outcomes["completed"] == len(documents), outcomes
        async with runtime.db.connect() as conn:
            for (object_type, stripe_id), (watermark, data) in newest.items():
                record = await get_object(conn, object_type, stripe_id)
                assert record is not None, stripe_id
                assert record.deleted == ((object_type, stripe_id) in deleted), stripe_id
                if (object_type, stripe_id) not in deleted:  # a deletion keeps whatever state it found
                    assert (record.watermark, record.data) == (watermark, json.loads(json.dumps(data))), stripe_id
    finally:
        await runtime.close()
