"""Every event envelope in the shared Stripe fixtures is accepted, stored and dispatched without error.

Many fixtures share placeholder ids (``evt_00000000000000``), so each copy is given its own event id; their
objects keep their ids, so the mirror sees several events for one object, as in real life.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from remit.db.tables import webhook_events
from remit.jobs.testing import drain
from tests.support.webhooks import client_for, envelope_fixtures, make_runtime, post_event, webhook_settings


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
        outcomes = await drain(runtime)
        assert outcomes["completed"] == len(paths), outcomes
        async with runtime.db.connect() as conn:
            rows = (await conn.execute(
                sa.select(webhook_events.c.event_id, webhook_events.c.status, webhook_events.c.last_error,
                          webhook_events.c.handler_results)
            )).all()
        assert len(rows) == len(paths)
        not_processed = [(r.event_id, r.status, r.last_error) for r in rows if r.status != "processed"]
        assert not_processed == []
        assert all(r.handler_results["remit.mirror"]["ok"] is True for r in rows)
    finally:
        await runtime.close()
