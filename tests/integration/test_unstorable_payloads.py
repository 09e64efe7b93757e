"""Payloads the mirror cannot store are permanent failures, and stored errors never quote the database's text.

On PostgreSQL a NUL character in a customer's name, or an id longer than its column, failed the mirror's insert
on every attempt for days, and ``last_error`` held the SQL statement with the customer's name and email. Now
such an event is dead-lettered on its first attempt, naming the field; every database error is stored as its
classes and SQLSTATE (or SQLite code) only. Both databases.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from remit.db.tables import jobs, webhook_events
from remit.db.tables.mirror import customers
from remit.runtime import Runtime
from remit.webhooks.events import EventStatus
from remit.webhooks.handlers import HandlerContext
from tests.support.webhooks import client_for, counts, event, post_event

pytestmark = pytest.mark.webhook_settings(REMIT_WEBHOOK_MAX_ATTEMPTS="5")

NAME = "Ada\u0000Lovelace"
EMAIL = "ada.lovelace@example.com"


async def ingest(runtime: Runtime, document: dict[str, Any] | str) -> int:
    async with client_for(runtime) as client:
        response = await post_event(client, runtime, document)
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


async def stored(runtime: Runtime, row_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    async with runtime.db.connect() as conn:
        row = (await conn.execute(sa.select(webhook_events).where(webhook_events.c.id == row_id))).mappings().one()
        job = (await conn.execute(sa.select(jobs))).mappings().one()
    return dict(row), dict(job)


def assert_identifiers_only(*documents: Any) -> None:
    text = json.dumps(documents, default=str)
    for leaked in ("Ada", "Lovelace", EMAIL, "INSERT", "SELECT", "[SQL", "parameters"):
        assert leaked not in text, leaked


async def assert_dead_at_once(runtime: Runtime, row_id: int, message: str) -> dict[str, Any]:
    outcome = await runtime.drain()
    assert (outcome["discarded"], outcome["retryable"]) == (1, 0), outcome
    row, job = await stored(runtime, row_id)
    assert row["status"] == EventStatus.DEAD.value
    assert row["attempts"] == 1
    assert row["last_error"]["type"] == "UnstorableObject"
    assert row["last_error"]["handler"] == "remit.mirror"
    assert row["last_error"]["message"] == message
    assert_identifiers_only(row["last_error"], row["handler_results"], job["errors"])
    return row


async def test_a_nul_in_a_customer_name_is_dead_lettered_at_once_naming_the_field(rt: Runtime) -> None:
    document = event("customer.created", obj={"id": "cus_nul", "object": "customer", "name": NAME, "email": EMAIL})
    row_id = await ingest(rt, document)
    await assert_dead_at_once(
        rt, row_id, "the mirror cannot store customer cus_nul: data.name contains a NUL character"
    )
    async with rt.db.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(customers))).scalar_one() == 0


async def test_a_reference_longer_than_its_column_is_dead_lettered_naming_the_column(rt: Runtime) -> None:
    obj = {"id": "sub_long", "object": "subscription", "customer": "cus_" + "x" * 300, "status": "active"}
    row_id = await ingest(rt, event("customer.subscription.created", obj=obj))
    await assert_dead_at_once(
        rt, row_id, "the mirror cannot store subscription sub_long: customer_id is longer than 255 characters"
    )


async def test_an_object_id_longer_than_its_column_is_dead_lettered_not_ignored(rt: Runtime) -> None:
    obj = {"id": "cus_" + "y" * 300, "object": "customer", "name": "Ada Lovelace", "email": EMAIL}
    row_id = await ingest(rt, event("customer.created", obj=obj))
    await assert_dead_at_once(
        rt, row_id, "the mirror cannot store customer (id not shown): stripe_id is longer than 255 characters"
    )


async def test_a_nul_anywhere_in_the_object_is_found_and_named_by_its_path(rt: Runtime) -> None:
    items = {"object": "list", "has_more": False, "data": [{"id": "si_1", "object": "subscription_item"}]}
    items["data"].append({"id": "si_2", "object": "subscription_item", "metadata": {"note": "x\u0000"}})
    obj = {"id": "sub_items", "object": "subscription", "customer": "cus_1", "status": "active", "items": items}
    row_id = await ingest(rt, event("customer.subscription.created", obj=obj))
    await assert_dead_at_once(
        rt,
        row_id,
        "the mirror cannot store subscription sub_items: data.items.data[1].metadata.note contains a NUL character",
    )


async def test_a_child_id_longer_than_its_column_is_dead_lettered_not_skipped(rt: Runtime) -> None:
    items = {"object": "list", "has_more": False, "data": [{"id": "si_" + "z" * 300, "object": "subscription_item"}]}
    obj = {"id": "sub_child", "object": "subscription", "customer": "cus_1", "status": "active", "items": items}
    row_id = await ingest(rt, event("customer.subscription.created", obj=obj))
    await assert_dead_at_once(
        rt, row_id, "the mirror cannot store subscription items (id not shown): stripe_id is longer than 255 characters"
    )


async def test_json_stored_too_deep_before_ingest_refused_it_is_dead_lettered_not_stuck(rt: Runtime) -> None:
    """A 1,000-level body stored before ingest refused such bodies: it failed with RecursionError on every
    attempt (on SQLite the row stayed ``processing``). Now it is one permanent failure."""
    text = json.dumps(event("customer.created", obj={"id": "cus_deep", "object": "customer", "metadata": "M"}))
    text = text.replace('"M"', '{"a":' * 1000 + "{}" + "}" * 1000)
    row_id = await ingest(rt, json.dumps(event("customer.created", obj={"id": "cus_deep", "object": "customer"})))
    async with rt.db.begin() as conn:  # as it was stored before the refusal at ingest existed
        await conn.execute(sa.update(webhook_events).where(webhook_events.c.id == row_id).values(body=text))
    await assert_dead_at_once(
        rt, row_id, "the mirror cannot store customer cus_deep: data is nested deeper than 64 levels"
    )


async def test_database_errors_are_stored_as_class_and_code_only(rt: Runtime) -> None:
    """A host handler's statement fails with the customer's email among its parameters; the stored error
    keeps the error's classes and its SQLSTATE (PostgreSQL) or result code (SQLite), nothing of the statement."""

    async def writes_a_duplicate(ctx: HandlerContext) -> None:
        row = {"id": 1, "email": EMAIL}
        await ctx.conn.execute(
            sa.text("CREATE TABLE IF NOT EXISTS test_host_users (id INTEGER PRIMARY KEY, email TEXT)")
        )
        await ctx.conn.execute(sa.text("INSERT INTO test_host_users (id, email) VALUES (:id, :email)"), row)
        await ctx.conn.execute(sa.text("INSERT INTO test_host_users (id, email) VALUES (:id, :email)"), row)

    rt.handlers.register("customer.created", writes_a_duplicate, name="test.duplicate")
    try:
        row_id = await ingest(rt, event("customer.created", obj={"id": "cus_ok", "object": "customer"}))
        outcome = await rt.drain()
    finally:
        rt.handlers.remove("test.duplicate")
    assert outcome["retryable"] == 1
    row, job = await stored(rt, row_id)
    assert row["status"] == EventStatus.FAILED.value
    expected = (
        "IntegrityError: UniqueViolation (SQLSTATE 23505)"
        if rt.db.is_postgres
        else "IntegrityError: IntegrityError (SQLITE_CONSTRAINT_PRIMARYKEY)"
    )
    assert row["last_error"]["type"] == "IntegrityError"
    assert row["last_error"]["message"] == expected
    assert row["handler_results"]["test.duplicate"]["message"] == expected
    assert_identifiers_only(row["last_error"], row["handler_results"], job["errors"])


@pytest.mark.parametrize(("depth", "status"), [(64, 200), (65, 400), (1000, 400)])
async def test_json_nested_past_the_limit_is_refused_at_ingest(rt: Runtime, depth: int, status: int) -> None:
    text = json.dumps(event("customer.created", obj={"id": "cus_d", "object": "customer", "metadata": "M"}))
    # the envelope, data and the object take three levels; metadata's nesting makes up the rest
    text = text.replace('"M"', '{"a":' * (depth - 4) + "{}" + "}" * (depth - 4))
    async with client_for(rt) as client:
        response = await post_event(client, rt, text)
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["error"]["code"] == "json_too_deep"
        assert await counts(rt) == (0, 0, 0)
    else:
        assert await counts(rt) == (1, 1, 1)
