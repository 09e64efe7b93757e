"""The fake's long child lists on both databases: a subscription's ``items`` and an invoice's ``lines`` are
embedded ten at a time as Stripe does (in answers and in events), listed whole a page at a time, and the fake's
own billing always works from the whole stored lists."""

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from remit.api.app import create_app
from remit.clock import FrozenClock
from remit.db.tables import fake_objects
from remit.errors import ProcessorError
from remit.processor.fake import FakeEngine, FakeProcessor

ITEMS = 12
EMBEDDED = 10
DAY = 86400
AUTH = {"Authorization": "Bearer sk_test_fake"}


@pytest.fixture
def fake(database, collected) -> FakeProcessor:
    return FakeProcessor(
        FakeEngine(
            database,
            FrozenClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC)),
            delivery=collected,
            secret="whsec_child_lists",
        )
    )


async def subscribe(fake: FakeProcessor, count: int = ITEMS) -> dict[str, Any]:
    """A subscription of ``count`` prices of 1.00, 2.00, … so every line's amount tells which it is."""
    product = await fake.create_product(name="Suite", idempotency_key="prod")
    prices = [
        await fake.create_price(product=product["id"], unit_amount=100 * (n + 1), idempotency_key=f"p{n}")
        for n in range(count)
    ]
    customer = await fake.create_customer(idempotency_key="cus", payment_method="pm_card_visa")
    return await fake.create_subscription(
        customer=customer["id"], idempotency_key="sub", items=[{"price": price["id"]} for price in prices]
    )


async def stored(fake: FakeProcessor, object_id: str) -> dict[str, Any]:
    async with fake.engine.db.connect() as conn:
        data = (await conn.execute(sa.select(fake_objects.c.data).where(fake_objects.c.id == object_id))).scalar_one()
    return dict(data if isinstance(data, dict) else json.loads(data))


def truncated(listed: dict[str, Any]) -> tuple[int, bool, int]:
    return len(listed["data"]), listed["has_more"], listed["total_count"]


async def every_page(lister: Any, parent_id: str, limit: int) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await lister(parent_id, limit=limit, starting_after=cursor)
        assert len(page["data"]) <= limit
        entries.extend(page["data"])
        if not page["has_more"]:
            return entries
        cursor = page["data"][-1]["id"]


async def test_answers_and_events_embed_ten_and_the_store_keeps_all(fake, collected):
    sub = await subscribe(fake)
    invoice = await fake.retrieve_invoice(sub["latest_invoice"])
    assert truncated(sub["items"]) == (EMBEDDED, True, ITEMS)
    assert sub["items"]["url"] == f"/v1/subscription_items?subscription={sub['id']}"
    assert truncated((await fake.retrieve_subscription(sub["id"]))["items"]) == (EMBEDDED, True, ITEMS)
    listed = await fake.request("GET", "/v1/subscriptions", {"customer": sub["customer"]})
    assert truncated(listed["data"][0]["items"]) == (EMBEDDED, True, ITEMS)
    assert truncated(invoice["lines"]) == (EMBEDDED, True, ITEMS)
    assert invoice["lines"]["url"] == f"/v1/invoices/{invoice['id']}/lines"
    # the invoice is billed for all twelve, 1.00 + 2.00 + … + 12.00, not for the ten it shows
    assert invoice["amount_paid"] == invoice["total"] == sum(100 * (n + 1) for n in range(ITEMS))
    assert len((await stored(fake, sub["id"]))["items"]["data"]) == ITEMS
    assert len((await stored(fake, invoice["id"]))["lines"]["data"]) == ITEMS
    for event in collected.events:
        obj = json.loads(event.payload)["data"]["object"]
        child = {"subscription": "items", "invoice": "lines"}.get(obj["object"])
        if child:
            assert truncated(obj[child]) == (EMBEDDED, True, ITEMS), event.event_type
    created = next(event for event in collected.events if event.event_type == "customer.subscription.created")
    fetched = await fake.retrieve_event(created.event_id)
    assert truncated(fetched["data"]["object"]["items"]) == (EMBEDDED, True, ITEMS)


async def test_short_lists_are_embedded_whole(fake):
    sub = await subscribe(fake, count=2)
    assert (len(sub["items"]["data"]), sub["items"]["has_more"], sub["items"]["total_count"]) == (2, False, 2)


async def test_listings_page_through_every_child_in_order(fake):
    sub = await subscribe(fake)
    invoice = await fake.retrieve_invoice(sub["latest_invoice"])
    first = await fake.list_subscription_items(sub["id"])
    assert (first["object"], first["url"], len(first["data"]), first["has_more"]) == (
        "list",
        "/v1/subscription_items",
        10,
        True,
    )
    assert first["data"] == sub["items"]["data"]  # the first page is what the subscription embeds
    items = await every_page(fake.list_subscription_items, sub["id"], 5)
    assert [item["price"]["unit_amount"] for item in items] == [100 * (n + 1) for n in range(ITEMS)]
    assert [item["subscription"] for item in items] == [sub["id"]] * ITEMS
    lines = await every_page(fake.list_invoice_lines, invoice["id"], 7)
    assert [line["amount"] for line in lines] == [100 * (n + 1) for n in range(ITEMS)]
    assert [line["subscription_item"] for line in lines] == [item["id"] for item in items]
    whole = await fake.list_invoice_lines(invoice["id"], limit=100)
    assert (len(whole["data"]), whole["has_more"]) == (ITEMS, False)
    assert whole["url"] == f"/v1/invoices/{invoice['id']}/lines"
    assert len((await fake.list_invoice_lines(invoice["id"], limit=1))["data"]) == 1


async def test_listing_an_unknown_parent_is_stripes_404(fake):
    with pytest.raises(ProcessorError) as no_invoice:
        await fake.list_invoice_lines("in_nope")
    assert (no_invoice.value.status_code, no_invoice.value.code) == (404, "resource_missing")
    with pytest.raises(ProcessorError) as no_subscription:
        await fake.list_subscription_items("sub_nope")
    assert (no_subscription.value.status_code, no_subscription.value.code) == (404, "resource_missing")
    with pytest.raises(ProcessorError) as not_an_invoice:
        await fake.list_invoice_lines((await fake.create_customer(idempotency_key="c"))["id"])
    assert not_an_invoice.value.status_code == 404


async def test_renewals_and_item_changes_use_every_item(fake, collected):
    sub = await subscribe(fake)
    items = await every_page(fake.list_subscription_items, sub["id"], 100)
    last, second_last = items[-1], items[-2]
    # change the twelfth item (not embedded) and remove the eleventh: only the stored whole list knows them
    await fake.update_subscription(
        sub["id"],
        idempotency_key="change",
        extra={"items": [{"id": last["id"], "quantity": 3}, {"id": second_last["id"], "deleted": True}]},
    )
    after = await every_page(fake.list_subscription_items, sub["id"], 100)
    assert [item["id"] for item in after] == [item["id"] for item in items[:-2]] + [last["id"]]
    assert after[-1]["quantity"] == 3
    updated = json.loads(collected.events[-1].payload)
    assert updated["type"] == "customer.subscription.updated"
    assert truncated(updated["data"]["object"]["items"]) == (EMBEDDED, True, ITEMS - 1)
    await fake.engine.advance_clock(32 * DAY)
    renewed = await fake.retrieve_subscription(sub["id"])
    assert renewed["latest_invoice"] != sub["latest_invoice"]
    invoice = await fake.retrieve_invoice(renewed["latest_invoice"])
    lines = await every_page(fake.list_invoice_lines, invoice["id"], 4)
    expected = [100 * (n + 1) for n in range(ITEMS - 2)] + [3 * 100 * ITEMS]
    assert [line["amount"] for line in lines] == expected
    assert (invoice["billing_reason"], invoice["total"], invoice["status"]) == (
        "subscription_cycle",
        sum(expected),
        "paid",
    )
    assert truncated(invoice["lines"]) == (EMBEDDED, True, ITEMS - 1)


async def test_a_scripted_failure_of_a_listing_fails_it_once(fake):
    sub = await subscribe(fake)
    await fake.engine.fail_next("500", method="subscription_items.list")
    with pytest.raises(ProcessorError) as failed:
        await fake.list_subscription_items(sub["id"])
    assert (failed.value.status_code, failed.value.code) == (500, "api_error")
    assert len((await fake.list_subscription_items(sub["id"]))["data"]) == EMBEDDED


async def test_a_listing_waits_for_nothing_its_caller_holds(fake, database):
    """The mirror lists children while its dispatch transaction is open. On SQLite that transaction holds the
    write lock from its start, and under load the pool's other connections are held by tasks waiting for that
    lock: a listing that wanted either would wait for its own caller (until the busy or pool timeout)."""
    sub = await subscribe(fake)
    pool = database.engine.pool
    held = []
    try:
        async with database.begin() as conn:
            await conn.execute(sa.text("SELECT 1"))
            while pool.checkedout() < pool.size() + pool._max_overflow:
                held.append(await database.engine.connect())
            lines = await asyncio.wait_for(fake.list_invoice_lines(sub["latest_invoice"], limit=100), timeout=5)
            items = await asyncio.wait_for(fake.list_subscription_items(sub["id"], limit=100), timeout=5)
    finally:
        for other in held:
            await other.close()
    assert len(lines["data"]) == len(items["data"]) == ITEMS


async def test_listings_over_http(runtime, collected):
    fake = FakeProcessor(
        FakeEngine(runtime.db, FrozenClock(datetime.now(UTC)), delivery=collected, secret="whsec_http")
    )
    runtime.processor = fake
    sub = await subscribe(fake)
    app = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://remit.test") as http:
        page = await http.get(
            "/fake/v1/subscription_items", headers=AUTH, params={"subscription": sub["id"], "limit": "5"}
        )
        assert page.status_code == 200, page.text
        assert (page.json()["object"], len(page.json()["data"]), page.json()["has_more"]) == ("list", 5, True)
        rest = await http.get(
            "/fake/v1/subscription_items",
            headers=AUTH,
            params={"subscription": sub["id"], "limit": "100", "starting_after": page.json()["data"][-1]["id"]},
        )
        assert (len(rest.json()["data"]), rest.json()["has_more"]) == (ITEMS - 5, False)
        lines = await http.get(f"/fake/v1/invoices/{sub['latest_invoice']}/lines", headers=AUTH)
        assert (len(lines.json()["data"]), lines.json()["has_more"]) == (10, True)
        assert list(lines.json()["data"][0])[:2] == ["id", "object"]
        fetched = await http.get(f"/fake/v1/invoices/{sub['latest_invoice']}", headers=AUTH)
        assert truncated(fetched.json()["lines"]) == (EMBEDDED, True, ITEMS)
        missing = await http.get("/fake/v1/invoices/in_nope/lines", headers=AUTH)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "resource_missing"
        no_sub = await http.get("/fake/v1/subscription_items", headers=AUTH, params={"subscription": "sub_nope"})
        assert (no_sub.status_code, no_sub.json()["error"]["param"]) == (404, "subscription")
        unnamed = await http.get("/fake/v1/subscription_items", headers=AUTH)
        assert (unnamed.status_code, unnamed.json()["error"]["code"]) == (400, "parameter_missing")
