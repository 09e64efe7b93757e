"""``POST /webhooks/stripe``: every answer the endpoint gives, and what is (not) stored with each."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from remit.api import webhooks as webhooks_api
from remit.db.tables import jobs, webhook_events
from remit.db.tables.ledger import ledger_events
from remit.runtime import Runtime
from remit.webhooks.events import EventStatus
from tests.support.webhooks import (
    OLD_SECRET,
    WEBHOOK_PATH,
    client_for,
    counts,
    event,
    make_runtime,
    post_event,
    sign,
    webhook_settings,
)


async def test_a_new_event_is_stored_with_its_job_and_ledger_entry(rt: Runtime) -> None:
    document = event("invoice.paid", account="acct_123")
    async with client_for(rt) as client:
        response = await post_event(client, rt, document)
    assert response.status_code == 200
    answer = response.json()
    assert answer["received"] is True
    assert answer["duplicate"] is False
    assert answer["status"] == "received"
    assert await counts(rt) == (1, 1, 1)
    async with rt.db.connect() as conn:
        row = (await conn.execute(sa.select(webhook_events))).mappings().one()
        job = (await conn.execute(sa.select(jobs))).mappings().one()
        entry = (await conn.execute(sa.select(ledger_events))).mappings().one()
    assert row["id"] == answer["id"]
    assert row["event_id"] == document["id"]
    assert row["type"] == "invoice.paid"
    assert row["endpoint"] == "default"
    assert row["processor"] == "fake"
    assert row["account"] == "acct_123"
    assert row["status"] == "received"
    assert row["attempts"] == 0
    assert row["object_id"] == document["data"]["object"]["id"]
    assert row["object_type"] == "invoice"
    assert row["received_at"] == rt.clock.now()
    assert json.loads(row["body"]) == document
    assert job["args"] == {"webhook_event_id": row["id"]}
    assert job["queue"] == "remit_webhooks"
    assert job["max_attempts"] == rt.settings.webhook_max_attempts
    assert job["state"] == "available"
    assert job["scheduled_at"] == rt.clock.now()
    assert job["inserted_at"] == rt.clock.now()
    assert job["unique_key"] == f"remit.webhooks.dispatch:{row['id']}"
    assert entry["type"] == "webhook.received"
    assert entry["subject"] == f"invoice:{document['data']['object']['id']}"
    assert entry["idempotency_key"] == f"webhook.received:fake:{document['id']}"
    assert entry["data"]["webhook_event_id"] == row["id"]


async def test_the_body_is_stored_byte_for_byte(rt: Runtime) -> None:
    body = (
        '{ "id": "evt_spacing",  "object":"event", "type":"customer.created", "created": 1,\n'
        '  "livemode": true, "data": {"object": {"id": "cus_1", "object": "customer", "name": "é"}} }'
    )
    async with client_for(rt) as client:
        response = await post_event(client, rt, body)
    assert response.status_code == 200
    async with rt.db.connect() as conn:
        stored = (await conn.execute(sa.select(webhook_events.c.body, webhook_events.c.livemode))).one()
    assert stored.body == body
    assert stored.livemode is True


async def test_a_duplicate_is_acknowledged_and_adds_nothing(rt: Runtime) -> None:
    document = event()
    async with client_for(rt) as client:
        first = await post_event(client, rt, document)
        second = await post_event(client, rt, document)
    assert first.status_code == second.status_code == 200
    assert second.json()["duplicate"] is True
    assert second.json()["id"] is None
    assert await counts(rt) == (1, 1, 1)


async def test_a_rotated_secret_is_still_accepted(rt: Runtime) -> None:
    async with client_for(rt) as client:
        response = await post_event(client, rt, event(), secret=OLD_SECRET)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "signature_missing"),
        ("", "signature_missing"),
        ("garbage", "signature_malformed"),
        ("t=notanumber,v1=abc", "signature_malformed"),
        ("t=123", "signature_malformed"),
        ("wrong-secret", "signature_invalid"),
        ("stale", "signature_expired"),
    ],
)
async def test_bad_signatures_are_refused_and_nothing_is_stored(rt: Runtime, header: str | None, code: str) -> None:
    body = json.dumps(event())
    if header == "wrong-secret":
        header = sign(body, rt.clock, "whsec_not_ours")
    elif header == "stale":
        header = sign(body, rt.clock, age=rt.settings.webhook_tolerance + 1)
    headers = {} if header is None else {"Stripe-Signature": header}
    async with client_for(rt) as client:
        response = await client.post(WEBHOOK_PATH, content=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert await counts(rt) == (0, 0, 0)


@pytest.mark.parametrize("fresh_first", [False, True])
async def test_a_captured_delivery_with_a_fresh_timestamp_added_is_refused(rt: Runtime, fresh_first: bool) -> None:
    """``t=OLD,v1=<signature over OLD>,t=NOW``: a genuine signature an hour old, dressed with a fresh ``t=``.
    One reading took the last t= for the age and the first for the signature; now two t= are malformed."""
    body = json.dumps(event())
    captured = sign(body, rt.clock, age=3600)
    now = int(rt.clock.now().timestamp())
    forged = f"t={now},{captured}" if fresh_first else f"{captured},t={now}"
    async with client_for(rt) as client:
        response = await client.post(WEBHOOK_PATH, content=body, headers={"Stripe-Signature": forged})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "signature_malformed"
        assert await counts(rt) == (0, 0, 0)
        honest = await client.post(WEBHOOK_PATH, content=body, headers={"Stripe-Signature": sign(body, rt.clock)})
    assert honest.status_code == 200
    assert await counts(rt) == (1, 1, 1)


async def test_a_signature_for_another_body_is_invalid(rt: Runtime) -> None:
    body = json.dumps(event())
    header = sign(json.dumps(event()), rt.clock)
    async with client_for(rt) as client:
        response = await client.post(WEBHOOK_PATH, content=body, headers={"Stripe-Signature": header})
    assert response.json()["error"]["code"] == "signature_invalid"


async def test_a_body_that_is_not_utf8_is_refused_as_invalid_signature(rt: Runtime) -> None:
    body = b'{"id": "\xff"}'
    async with client_for(rt) as client:
        response = await client.post(WEBHOOK_PATH, content=body, headers={"Stripe-Signature": "t=1,v1=ab"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "signature_invalid"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{not json", "invalid_json"),
        ("", "invalid_json"),
        ("[1, 2]", "not_an_event"),
        ('{"object": "customer", "id": "cus_1", "type": "x", "created": 1, "data": {"object": {}}}', "not_an_event"),
        ('{"object": "event", "type": "invoice.paid", "created": 1, "data": {"object": {}}}', "not_an_event"),
        ('{"object": "event", "id": "evt_1", "created": 1, "data": {"object": {}}}', "not_an_event"),
        ('{"object": "event", "id": "evt_1", "type": "invoice.paid", "created": 1}', "not_an_event"),
        ('{"object": "event", "id": "evt_1", "type": "invoice.paid", "data": {"object": {}}}', "not_an_event"),
    ],
)
async def test_bodies_that_are_not_events_are_refused(rt: Runtime, body: str, code: str) -> None:
    async with client_for(rt) as client:
        response = await client.post(
            WEBHOOK_PATH, content=body.encode(), headers={"Stripe-Signature": sign(body, rt.clock)}
        )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert await counts(rt) == (0, 0, 0)


async def test_an_oversized_body_is_refused_by_its_content_length(db_url: str) -> None:
    runtime = make_runtime(webhook_settings(db_url, REMIT_WEBHOOK_MAX_BODY_BYTES="2048"))
    try:
        document = event(obj={"id": "in_1", "object": "invoice", "padding": "x" * 4096})
        async with client_for(runtime) as client:
            response = await post_event(client, runtime, document)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"
        assert await counts(runtime) == (0, 0, 0)
    finally:
        await runtime.close()


async def test_an_oversized_body_without_content_length_is_refused_while_reading(db_url: str) -> None:
    runtime = make_runtime(webhook_settings(db_url, REMIT_WEBHOOK_MAX_BODY_BYTES="2048"))
    body = json.dumps(event(obj={"id": "in_1", "object": "invoice", "padding": "x" * 4096})).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    try:
        async with client_for(runtime) as client:
            response = await client.post(
                WEBHOOK_PATH, content=chunks(), headers={"Stripe-Signature": sign(body.decode(), runtime.clock)}
            )
        assert response.status_code == 413
        assert await counts(runtime) == (0, 0, 0)
    finally:
        await runtime.close()


async def test_a_chunked_body_within_the_limit_is_accepted(rt: Runtime) -> None:
    body = json.dumps(event()).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 100):
            yield body[start : start + 100]

    async with client_for(rt) as client:
        response = await client.post(
            WEBHOOK_PATH, content=chunks(), headers={"Stripe-Signature": sign(body.decode(), rt.clock)}
        )
    assert response.status_code == 200
    assert await counts(rt) == (1, 1, 1)


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
async def test_an_unreachable_database_answers_503(tmp_path: object, dialect: str) -> None:
    url = (
        "postgresql://postgres@127.0.0.1:1/nowhere"
        if dialect == "postgresql"
        else f"sqlite:///{tmp_path}/missing-dir/remit.db"
    )
    runtime = make_runtime(webhook_settings(url, REMIT_DB_CONNECT_TIMEOUT="1"))
    try:
        async with client_for(runtime) as client:
            response = await post_event(client, runtime, event())
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "database_unavailable"
        assert response.headers["retry-after"]
    finally:
        await runtime.close()


async def test_a_read_only_sqlite_file_answers_503(tmp_path: Path, sqlite_template: Path) -> None:
    """An SQLite file remit cannot write (read-only mount, wrong owner) is "unavailable", not a 500."""
    target = tmp_path / "remit.db"
    shutil.copy(sqlite_template, target)
    runtime = make_runtime(webhook_settings(f"sqlite:///file:{target}?mode=ro&uri=true"))
    try:
        async with client_for(runtime) as client:
            response = await post_event(client, runtime, event())
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "database_unavailable"
    finally:
        await runtime.close()
    with sqlite3.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM remit_webhook_events").fetchone() == (0,)


async def test_a_locked_sqlite_file_answers_503_once_the_busy_timeout_passes(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holding the write lock past the busy timeout (30 s; shortened here) gets a 503."""
    monkeypatch.setattr("remit.db.engine.SQLITE_BUSY_TIMEOUT_MS", 200)
    target = tmp_path / "remit.db"
    shutil.copy(sqlite_template, target)
    runtime = make_runtime(webhook_settings(f"sqlite:///{target}"))
    locker = sqlite3.connect(target, isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        async with client_for(runtime) as client:
            response = await post_event(client, runtime, event())
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "database_unavailable"
        locker.execute("ROLLBACK")
        assert await counts(runtime) == (0, 0, 0)
    finally:
        locker.close()
        await runtime.close()


async def test_an_event_id_postgresql_cannot_store_is_refused_not_a_500(rt: Runtime) -> None:
    """A NUL in the id fits SQLite but not PostgreSQL's text: refused on both, so the processor is told why."""
    async with client_for(rt) as client:
        response = await post_event(client, rt, event(event_id="evt_nul\u0000x"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "not_an_event"
    assert await counts(rt) == (0, 0, 0)


class _BrokenWriter:
    """A writer failing as a statement error does: its message quotes the parameters, the body among them."""

    async def store(self, runtime: Runtime, row: dict[str, Any]) -> int | None:
        raise sa.exc.IntegrityError(
            "INSERT INTO remit_webhook_events …", {"body": row["body"]}, Exception("constraint failed")
        )

    async def close(self) -> None:
        return None


async def test_an_unexpected_error_answers_500_without_the_body_in_the_answer_or_the_logs(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(webhooks_api, "writer_for", lambda runtime: _BrokenWriter())
    marker = "12 Private Lane, Springfield"
    document = event(obj={"id": "cus_private", "object": "customer", "shipping": {"line1": marker}})
    with caplog.at_level(logging.INFO):
        async with client_for(rt) as client:
            response = await post_event(client, rt, document)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert marker not in response.text
    logged = [r for r in caplog.records if r.getMessage() == "webhook not stored: unexpected error"]
    assert len(logged) == 1
    assert logged[0].__dict__["error_type"] == "IntegrityError"
    assert logged[0].__dict__["where"].endswith("in receive")  # remit's deepest frame: where to look
    for record in caplog.records:
        assert record.exc_info is None
        assert marker not in str(record.__dict__)


async def test_with_billing_off_events_are_held_without_a_job(db_url: str) -> None:
    runtime = make_runtime(webhook_settings(db_url, REMIT_FLAG_BILLING="false"))
    try:
        async with client_for(runtime) as client:
            response = await post_event(client, runtime, event())
        assert response.status_code == 200
        assert response.json()["status"] == EventStatus.HELD.value
        assert await counts(runtime) == (1, 0, 1)
    finally:
        await runtime.close()


async def test_an_extra_endpoint_uses_its_own_secret_and_records_its_name(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONNECT_TEST_SECRET", "whsec_connect_only")
    settings = webhook_settings(db_url, REMIT_WEBHOOK_ENDPOINTS="connect=/webhooks/stripe-connect:CONNECT_TEST_SECRET")
    runtime = make_runtime(settings)
    try:
        async with client_for(runtime) as client:
            wrong = await post_event(client, runtime, event(), path="/webhooks/stripe-connect")
            right = await post_event(
                client, runtime, event(), path="/webhooks/stripe-connect", secret="whsec_connect_only"
            )
            main_with_connect_secret = await post_event(client, runtime, event(), secret="whsec_connect_only")
        assert wrong.status_code == 400
        assert wrong.json()["error"]["code"] == "signature_invalid"
        assert right.status_code == 200
        assert main_with_connect_secret.status_code == 400
        async with runtime.db.connect() as conn:
            endpoint = (await conn.execute(sa.select(webhook_events.c.endpoint))).scalar_one()
        assert endpoint == "connect"
    finally:
        await runtime.close()


async def test_a_stored_event_wakes_this_processs_workers_and_a_duplicate_does_not(rt: Runtime) -> None:
    woken: list[str | None] = []
    rt.job_wakers.append(woken.append)
    document = event()
    async with client_for(rt) as client:
        await post_event(client, rt, document)
        assert woken == ["remit_webhooks"]
        await post_event(client, rt, document)
    assert woken == ["remit_webhooks"]
