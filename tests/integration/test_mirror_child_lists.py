"""Truncated child lists end to end: the fake embeds ten of a subscription's items and of an invoice's lines,
as Stripe does, its events reach remit's own receiver in-process, and dispatch completes the lists from the
runtime's processor — that same fake — so the mirror holds every child, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from remit.api.app import create_app
from remit.db.tables import invoice_lines, subscription_items
from remit.errors import ProcessorError
from remit.processor import build_fake_engine
from remit.processor.fake import AsgiDelivery, FakeProcessor
from remit.runtime import Runtime

pytestmark = pytest.mark.timeout(120)

ITEMS = 12
EMBEDDED = 10


@pytest.fixture
async def fake(runtime: Runtime, settings: Any) -> FakeProcessor:
    """The fake delivering into remit's app in this process, and also the runtime's processor."""
    app = create_app(runtime)
    processor = FakeProcessor(
        build_fake_engine(settings, runtime.db, runtime.clock, delivery=AsgiDelivery(app, settings.webhook_path))
    )
    runtime.processor = processor
    return processor


async def subscribe_to_twelve(fake: FakeProcessor) -> dict[str, Any]:
    """A subscription of twelve prices, so its first invoice has twelve lines."""
    product = await fake.create_product(name="Suite", idempotency_key="prod")
    prices = [
        await fake.create_price(product=product["id"], unit_amount=100 * (n + 1), idempotency_key=f"p{n}")
        for n in range(ITEMS)
    ]
    customer = await fake.create_customer(idempotency_key="cus", payment_method="pm_card_visa")
    return await fake.create_subscription(
        customer=customer["id"], idempotency_key="sub", items=[{"price": price["id"]} for price in prices]
    )


async def children(runtime: Runtime, table: sa.Table, parent: str, parent_id: str) -> list[tuple[str, bool]]:
    async with runtime.db.connect() as conn:
        rows = await conn.execute(
            sa.select(table.c.stripe_id, table.c.deleted)
            .where(table.c[parent] == parent_id)
            .order_by(table.c.stripe_id)
        )
        return [(row.stripe_id, row.deleted) for row in rows]


def ids(listed: dict[str, Any]) -> list[str]:
    return [entry["id"] for entry in listed["data"]]


async def test_the_mirror_holds_all_twelve_items_and_lines(runtime: Runtime, fake: FakeProcessor) -> None:
    sub = await subscribe_to_twelve(fake)
    created = json.loads((await fake.engine.events(type_="customer.subscription.created"))[0].payload)
    embedded = created["data"]["object"]["items"]
    assert (len(embedded["data"]), embedded["has_more"], embedded["total_count"]) == (EMBEDDED, True, ITEMS)
    every_item = ids(await fake.list_subscription_items(sub["id"], limit=100))
    every_line = ids(await fake.list_invoice_lines(sub["latest_invoice"], limit=100))
    assert len(every_item) == len(every_line) == ITEMS

    outcomes = await runtime.drain()

    assert set(outcomes) == {"completed"}
    assert await children(runtime, subscription_items, "subscription_id", sub["id"]) == [
        (item, False) for item in sorted(every_item)
    ]
    assert await children(runtime, invoice_lines, "invoice_id", sub["latest_invoice"]) == [
        (line, False) for line in sorted(every_line)
    ]


class WithoutListings:
    """A processor without the two child listings: it cannot complete a list."""

    async def close(self) -> None:
        return None


class FailingListings(WithoutListings):
    """A processor whose listings answer Stripe's 500, as during an outage."""

    async def list_subscription_items(
        self, subscription_id: str, *, limit: int = 10, starting_after: str | None = None
    ) -> dict[str, Any]:
        raise ProcessorError("subscription_items.list failed (500 api_error)", status_code=500, code="api_error")

    async def list_invoice_lines(
        self, invoice_id: str, *, limit: int = 10, starting_after: str | None = None
    ) -> dict[str, Any]:
        raise ProcessorError("invoices.line_items.list failed (500 api_error)", status_code=500, code="api_error")


@pytest.mark.parametrize("processor", [WithoutListings, FailingListings])
async def test_without_the_listings_the_payloads_ten_are_projected_and_none_deleted(
    runtime: Runtime,
    fake: FakeProcessor,
    processor: type[WithoutListings],
) -> None:
    """The mirror's fallback: a truncated list is projected as embedded and marks nothing deleted, whether the
    processor lacks the listings or they fail (with the complete lists already mirrored, see the next test)."""
    runtime.processor = processor()  # type: ignore[assignment]
    sub = await subscribe_to_twelve(fake)

    outcomes = await runtime.drain()

    assert set(outcomes) == {"completed"}
    embedded_items = sorted(item["id"] for item in sub["items"]["data"])
    invoice = await fake.retrieve_invoice(sub["latest_invoice"])
    embedded_lines = sorted(line["id"] for line in invoice["lines"]["data"])
    assert len(embedded_items) == len(embedded_lines) == EMBEDDED
    assert await children(runtime, subscription_items, "subscription_id", sub["id"]) == [
        (item, False) for item in embedded_items
    ]
    assert await children(runtime, invoice_lines, "invoice_id", sub["latest_invoice"]) == [
        (line, False) for line in embedded_lines
    ]


@pytest.mark.parametrize("processor", [WithoutListings, FailingListings])
async def test_a_later_truncated_event_keeps_the_children_it_does_not_show(
    runtime: Runtime,
    fake: FakeProcessor,
    processor: type[WithoutListings],
) -> None:
    sub = await subscribe_to_twelve(fake)
    await runtime.drain()
    runtime.processor = processor()  # type: ignore[assignment]
    await fake.update_subscription(sub["id"], idempotency_key="meta", metadata={"seats": "12"})
    await fake.request(
        "POST", f"/v1/invoices/{sub['latest_invoice']}", {"metadata": {"note": "x"}}, idempotency_key="note"
    )

    outcomes = await runtime.drain()

    assert set(outcomes) == {"completed"}
    assert [deleted for _, deleted in await children(runtime, subscription_items, "subscription_id", sub["id"])] == [
        False
    ] * ITEMS
    assert [deleted for _, deleted in await children(runtime, invoice_lines, "invoice_id", sub["latest_invoice"])] == [
        False
    ] * ITEMS
