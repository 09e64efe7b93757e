"""PostgreSQL terminates the webhook writer's connections (``pg_terminate_backend``, as a failover or an
operator does): deliveries are answered 503 with ``Retry-After`` — never a 500 — and 2xx again as soon as the
database answers, with every 2xx backed by a stored row and nothing stored twice."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import sqlalchemy as sa

from remit.db.engine import create_sync_engine
from remit.runtime import Runtime
from tests.support.webhooks import client_for, counts, event, post_event

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def terminate_other_backends(db_url: str) -> int:
    """Terminate every other connection to this test database; how many there were."""
    engine = create_sync_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            killed = conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    return int(killed)


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "database_unavailable"
    assert int(response.headers["retry-after"]) > 0


async def test_connections_killed_between_requests_answer_503_then_2xx(rt: Runtime, db_url: str) -> None:
    async with client_for(rt) as client:
        assert (await post_event(client, rt, event())).status_code == 200  # the writer's pool is open
        assert terminate_other_backends(db_url) >= 1
        first = await post_event(client, rt, event())
        assert_unavailable(first)
        answers = []
        for _ in range(20):  # the pool replaces its dead connections within a few deliveries at most
            response = await post_event(client, rt, event())
            answers.append(response.status_code)
            if response.status_code == 200:
                break
            assert_unavailable(response)
            await asyncio.sleep(0.1)
    assert answers[-1] == 200, answers
    assert len(answers) <= 2, answers  # the idle dead connections were tested and replaced at once
    stored = 1 + answers.count(200)
    assert await counts(rt) == (stored, stored, stored)


async def test_connections_killed_during_requests_never_answer_500(rt: Runtime, db_url: str) -> None:
    """Deliveries wait on a lock another session holds, so their statements are in flight when their
    connections are terminated."""
    documents = [event() for _ in range(20)]
    engine = create_sync_engine(db_url, poolclass=sa.pool.NullPool)
    locker = engine.connect()
    try:
        async with client_for(rt) as client:
            assert (await post_event(client, rt, event())).status_code == 200
            locker.execute(sa.text("LOCK TABLE remit_webhook_events IN ACCESS EXCLUSIVE MODE"))
            in_flight = [asyncio.create_task(post_event(client, rt, d)) for d in documents]
            for _ in range(100):  # until the writer's statements wait on the lock
                waiting = locker.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
                if waiting:
                    break
                await asyncio.sleep(0.05)
            assert waiting, "no delivery reached the database"
            locker.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            locker.rollback()
            responses = await asyncio.gather(*in_flight)
            statuses = [response.status_code for response in responses]
            assert 503 in statuses, statuses
            assert set(statuses) <= {200, 503}, statuses
            for response in responses:
                if response.status_code == 503:
                    assert_unavailable(response)
            # The processor retries every 503; once the database answers, every one of them is stored.
            for document, response in zip(documents, responses, strict=True):
                for _ in range(20):
                    if response.status_code == 200:
                        break
                    await asyncio.sleep(0.1)
                    response = await post_event(client, rt, document)
                    assert response.status_code in (200, 503), response.text
                assert response.status_code == 200
    finally:
        locker.close()
        engine.dispose()
    assert await counts(rt) == (21, 21, 21)
    async with rt.db.connect() as conn:
        bodies = [row[0] for row in await conn.execute(sa.text("SELECT body FROM remit_webhook_events"))]
    assert {json.loads(body)["id"] for body in bodies} >= {d["id"] for d in documents}
