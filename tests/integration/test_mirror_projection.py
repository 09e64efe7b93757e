"""The projection on SQLite and PostgreSQL: watermarks, duplicates, deletions, children, concurrency."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa

from remit.billing import ApplyStatus, apply_event, get_object
from remit.billing.projection import write_target
from remit.billing.refetch import embedded_children
from remit.billing.routing import MalformedEvent, Target, route
from remit.db.tables import charges, customers, invoice_lines, refunds, subscription_items, subscriptions
from remit.errors import ProcessorError
from remit.runtime import Runtime
from remit.telemetry.metrics import REGISTRY

pytestmark = pytest.mark.timeout(120)

BASE = 1_772_366_400  # 2026-03-01T12:00:00Z


def event(
    event_type: str, obj: Mapping[str, Any], *, at: int = BASE, event_id: str | None = None, livemode: bool = False
) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{event_type}_{at}",
        "object": "event",
        "type": event_type,
        "created": at,
        "livemode": livemode,
        "data": {"object": dict(obj)},
    }


def subscription(
    status: str, *, period_start: int = BASE, items: list[str] | None = None, has_more: bool = False, **extra: Any
) -> dict[str, Any]:
    return {
        "id": "sub_1",
        "object": "subscription",
        "customer": "cus_1",
        "status": status,
        "currency": "usd",
        "created": BASE - 100,
        "livemode": False,
        "current_period_start": period_start,
        "current_period_end": period_start + 2_592_000,
        "cancel_at_period_end": False,
        "items": {
            "object": "list",
            "has_more": has_more,
            "data": [
                {
                    "id": item,
                    "object": "subscription_item",
                    "price": {"id": f"price_{item}"},
                    "quantity": 1,
                    "subscription": "sub_1",
                }
                for item in (items if items is not None else ["si_1"])
            ],
        },
        **extra,
    }


async def apply(runtime: Runtime, evt: Mapping[str, Any]) -> Any:
    async with runtime.db.begin() as conn:
        return await apply_event(conn, runtime, evt)


async def stored(runtime: Runtime, object_type: str, stripe_id: str) -> Any:
    async with runtime.db.connect() as conn:
        return await get_object(conn, object_type, stripe_id)


async def rows(runtime: Runtime, table: sa.Table, *where: Any) -> list[Any]:
    async with runtime.db.connect() as conn:
        return list((await conn.execute(sa.select(table).where(*where).order_by(table.c.stripe_id))).mappings())


def stale_count(object_type: str) -> float:
    value = REGISTRY.get_sample_value("remit_mirror_stale_skipped_total", {"object_type": object_type})
    return value or 0.0


async def test_an_event_creates_the_row_with_filter_columns_and_watermark(runtime: Runtime) -> None:
    result = await apply(runtime, event("customer.subscription.created", subscription("active"), event_id="evt_a"))
    assert (result.status, result.object_type, result.object_id) == (ApplyStatus.APPLIED, "subscription", "sub_1")
    [row] = await rows(runtime, subscriptions)
    assert (row["customer_id"], row["status"], row["currency"], row["livemode"], row["deleted"]) == (
        "cus_1",
        "active",
        "usd",
        False,
        False,
    )
    assert row["current_period_end"].timestamp() == BASE + 2_592_000
    assert row["created"].timestamp() == BASE - 100
    assert (row["watermark_created"].timestamp(), row["watermark_event_id"], row["watermark_phase"]) == (
        BASE,
        "evt_a",
        0,
    )
    assert row["data"]["items"]["data"][0]["id"] == "si_1"
    [item] = await rows(runtime, subscription_items)
    assert (item["stripe_id"], item["subscription_id"], item["price_id"], item["quantity"], item["deleted"]) == (
        "si_1",
        "sub_1",
        "price_si_1",
        1,
        False,
    )


async def test_updates_delivered_newest_first_end_in_the_newest_state(runtime: Runtime) -> None:
    statuses = ["incomplete", "active", "past_due", "active", "canceled"]
    events = [
        event("customer.subscription.updated", subscription(status, note=n), at=BASE + n * 60)
        for n, status in enumerate(statuses)
    ]
    before = stale_count("subscription")
    results = [await apply(runtime, evt) for evt in reversed(events)]
    assert [r.status for r in results] == [ApplyStatus.APPLIED] + [ApplyStatus.SKIPPED_STALE] * 4
    assert stale_count("subscription") - before == 4
    record = await stored(runtime, "subscription", "sub_1")
    assert (record.data["status"], record.data["note"], record.watermark.event_id) == ("canceled", 4, events[-1]["id"])


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_any_delivery_order_ends_in_the_newest_state(runtime: Runtime, seed: int) -> None:
    events = [
        event("customer.updated", {"id": "cus_1", "object": "customer", "balance": n}, at=BASE + n) for n in range(12)
    ]
    random.Random(seed).shuffle(events)
    for evt in events:
        await apply(runtime, evt)
    assert (await stored(runtime, "customer", "cus_1")).data["balance"] == 11


async def test_a_duplicate_event_changes_nothing_and_is_not_counted_stale(runtime: Runtime) -> None:
    evt = event("customer.updated", {"id": "cus_1", "object": "customer", "balance": 5})
    assert (await apply(runtime, evt)).status == ApplyStatus.APPLIED
    first = await rows(runtime, customers)
    before = stale_count("customer")
    again = await apply(runtime, evt)
    assert (again.status, again.duplicate) == (ApplyStatus.SKIPPED_STALE, True)
    assert stale_count("customer") == before
    assert await rows(runtime, customers) == first


async def test_same_second_events_are_ordered_by_the_objects_progress(runtime: Runtime) -> None:
    invoice = {"id": "in_1", "object": "invoice", "customer": "cus_1", "currency": "usd", "total": 500}
    created = event("invoice.created", {**invoice, "status": "draft"}, event_id="evt_z_created")
    finalized = event("invoice.finalized", {**invoice, "status": "open"}, event_id="evt_y_finalized")
    paid = event("invoice.paid", {**invoice, "status": "paid", "amount_paid": 500}, event_id="evt_a_paid")
    for evt in (paid, finalized, created):  # one second, delivered backwards, ids in the "wrong" order too
        await apply(runtime, evt)
    record = await stored(runtime, "invoice", "in_1")
    assert (record.data["status"], record.watermark.event_id) == ("paid", "evt_a_paid")


async def test_same_second_created_then_updated_keeps_the_update(runtime: Runtime) -> None:
    obj = {"id": "cus_1", "object": "customer"}
    updated = event("customer.updated", {**obj, "balance": 7}, event_id="evt_a")
    created = event("customer.created", {**obj, "balance": 0}, event_id="evt_b")
    await apply(runtime, updated)
    assert (await apply(runtime, created)).status == ApplyStatus.SKIPPED_STALE
    assert (await stored(runtime, "customer", "cus_1")).data["balance"] == 7


async def test_a_deleted_object_stays_deleted(runtime: Runtime) -> None:
    obj = {"id": "cus_1", "object": "customer", "balance": 0}
    await apply(runtime, event("customer.created", obj, at=BASE))
    deleted = await apply(runtime, event("customer.deleted", {**obj, "deleted": True}, at=BASE + 10))
    assert deleted.status == ApplyStatus.DELETED
    late = await apply(runtime, event("customer.updated", {**obj, "balance": 1}, at=BASE + 5))
    after = await apply(runtime, event("customer.updated", {**obj, "balance": 2}, at=BASE + 20))
    assert (late.status, after.status) == (ApplyStatus.SKIPPED_STALE, ApplyStatus.SKIPPED_STALE)
    record = await stored(runtime, "customer", "cus_1")
    assert record.deleted is True
    assert record.data["balance"] == 0


async def test_a_delete_older_than_the_row_still_marks_it_deleted(runtime: Runtime) -> None:
    sub = subscription("active")
    await apply(runtime, event("customer.subscription.updated", sub, at=BASE + 10))
    result = await apply(runtime, event("customer.subscription.deleted", {**sub, "status": "canceled"}, at=BASE))
    assert (result.status, result.reason) == (ApplyStatus.DELETED, "older_than_row")
    record = await stored(runtime, "subscription", "sub_1")
    assert record.deleted is True
    assert record.data["status"] == "active"  # the newer state's data is kept; only the flag changes
    again = await apply(runtime, event("customer.subscription.deleted", {**sub, "status": "canceled"}, at=BASE))
    assert (again.status, again.duplicate) == (ApplyStatus.SKIPPED_STALE, False)


async def test_a_delete_arriving_first_is_not_undone_by_earlier_events(runtime: Runtime) -> None:
    sub = subscription("canceled")
    assert (await apply(runtime, event("customer.subscription.deleted", sub, at=BASE + 60))).status == (
        ApplyStatus.DELETED
    )
    await apply(runtime, event("customer.subscription.created", subscription("active"), at=BASE))
    [row] = await rows(runtime, subscriptions)
    assert (row["deleted"], row["status"]) == (True, "canceled")


@pytest.mark.parametrize(
    ("event_type", "object_type", "obj"),
    [
        ("product.deleted", "product", {"id": "prod_1", "object": "product", "deleted": True}),
        ("price.deleted", "price", {"id": "price_1", "object": "price", "active": False}),
        ("payment_method.detached", "payment_method", {"id": "pm_1", "object": "payment_method", "customer": None}),
    ],
)
async def test_other_deletions_mark_the_row_deleted(
    runtime: Runtime, event_type: str, object_type: str, obj: dict[str, Any]
) -> None:
    assert (await apply(runtime, event(event_type, obj))).status == ApplyStatus.DELETED
    assert (await stored(runtime, object_type, obj["id"])).deleted is True


async def test_items_missing_from_a_complete_list_are_marked_deleted(runtime: Runtime) -> None:
    await apply(runtime, event("customer.subscription.created", subscription("active", items=["si_1", "si_2"])))
    await apply(
        runtime, event("customer.subscription.updated", subscription("active", items=["si_2", "si_3"]), at=BASE + 1)
    )
    assert [(r["stripe_id"], r["deleted"]) for r in await rows(runtime, subscription_items)] == [
        ("si_1", True),
        ("si_2", False),
        ("si_3", False),
    ]


async def test_a_stale_parent_leaves_its_children_alone(runtime: Runtime) -> None:
    await apply(runtime, event("customer.subscription.updated", subscription("active", items=["si_2"]), at=BASE + 1))
    await apply(runtime, event("customer.subscription.created", subscription("active", items=["si_1"])))
    assert [(r["stripe_id"], r["deleted"]) for r in await rows(runtime, subscription_items)] == [("si_2", False)]


def invoice_with_lines(lines: list[str], *, has_more: bool) -> dict[str, Any]:
    return {
        "id": "in_1",
        "object": "invoice",
        "status": "open",
        "currency": "usd",
        "lines": {
            "object": "list",
            "has_more": has_more,
            "data": [
                {
                    "id": line,
                    "object": "line_item",
                    "amount": 100,
                    "currency": "usd",
                    "pricing": {"price_details": {"price": "price_1"}},
                    "quantity": 1,
                }
                for line in lines
            ],
        },
    }


class LineLister:
    """A processor that lists an invoice's lines in pages of two, as Stripe's ``/v1/invoices/{id}/lines``."""

    def __init__(self, lines: list[str], fail: bool = False) -> None:
        self.lines, self.fail, self.calls = lines, fail, 0

    async def close(self) -> None:
        return None

    async def list_invoice_lines(self, invoice_id: str, *, limit: int, starting_after: str | None) -> Any:
        self.calls += 1
        if self.fail:
            raise ProcessorError("unavailable", status_code=503)
        start = self.lines.index(starting_after) + 1 if starting_after else 0
        page = self.lines[start : start + 2]
        return {
            "object": "list",
            "has_more": start + 2 < len(self.lines),
            "data": [{"id": line, "object": "line_item", "amount": 100, "invoice": invoice_id} for line in page],
        }


async def test_truncated_lines_without_a_processor_keep_the_missing_ones(runtime: Runtime) -> None:
    processor, runtime.processor = runtime.processor, None  # type: ignore[assignment]  # the fake would be asked
    try:
        await apply(runtime, event("invoice.created", invoice_with_lines(["il_1", "il_2", "il_3"], has_more=False)))
        await apply(runtime, event("invoice.updated", invoice_with_lines(["il_1"], has_more=True), at=BASE + 1))
    finally:
        runtime.processor = processor  # the runtime closes its own
    assert [(r["stripe_id"], r["deleted"], r["price_id"]) for r in await rows(runtime, invoice_lines)] == [
        ("il_1", False, "price_1"),
        ("il_2", False, "price_1"),
        ("il_3", False, "price_1"),
    ]


async def test_truncated_lines_are_completed_from_the_processor(runtime: Runtime) -> None:
    await apply(runtime, event("invoice.created", invoice_with_lines(["il_0"], has_more=False)))
    lister = LineLister(["il_1", "il_2", "il_3", "il_4", "il_5"])
    runtime.processor = lister  # type: ignore[assignment]
    await apply(runtime, event("invoice.updated", invoice_with_lines(["il_1", "il_2"], has_more=True), at=BASE + 1))
    assert lister.calls == 3
    assert [(r["stripe_id"], r["deleted"]) for r in await rows(runtime, invoice_lines)] == [
        ("il_0", True),
        ("il_1", False),
        ("il_2", False),
        ("il_3", False),
        ("il_4", False),
        ("il_5", False),
    ]


async def test_a_failing_processor_falls_back_to_the_payload(runtime: Runtime) -> None:
    runtime.processor = LineLister([], fail=True)  # type: ignore[assignment]
    result = await apply(runtime, event("invoice.updated", invoice_with_lines(["il_1"], has_more=True)))
    assert result.status == ApplyStatus.APPLIED
    assert [r["stripe_id"] for r in await rows(runtime, invoice_lines)] == ["il_1"]


async def test_refunds_embedded_in_a_charge_are_projected(runtime: Runtime) -> None:
    charge = {
        "id": "ch_1",
        "object": "charge",
        "status": "succeeded",
        "amount": 1000,
        "amount_refunded": 300,
        "currency": "usd",
        "customer": {"id": "cus_1", "object": "customer"},
        "refunded": False,
        "refunds": {
            "object": "list",
            "has_more": False,
            "data": [
                {
                    "id": "re_1",
                    "object": "refund",
                    "amount": 300,
                    "charge": "ch_1",
                    "status": "succeeded",
                    "currency": "usd",
                }
            ],
        },
    }
    await apply(runtime, event("charge.refunded", charge, event_id="evt_refunded"))
    [charge_row] = await rows(runtime, charges)
    assert (charge_row["customer_id"], charge_row["amount_refunded"]) == ("cus_1", 300)
    [refund_row] = await rows(runtime, refunds)
    assert (
        refund_row["stripe_id"],
        refund_row["charge_id"],
        refund_row["amount"],
        refund_row["status"],
        refund_row["watermark_event_id"],
    ) == ("re_1", "ch_1", 300, "succeeded", "evt_refunded")


async def test_ignored_and_malformed_events(runtime: Runtime) -> None:
    ignored = await apply(runtime, event("coupon.created", {"id": "co_1", "object": "coupon"}))
    assert (ignored.status, ignored.object_type, ignored.reason) == (ApplyStatus.IGNORED, "coupon", "not_mirrored")
    assert ignored.to_json() == {
        "status": "ignored",
        "object_type": "coupon",
        "object_id": "co_1",
        "duplicate": False,
        "reason": "not_mirrored",
    }
    with pytest.raises(MalformedEvent):
        await apply(runtime, {"type": "customer.updated", "data": {"object": {"id": "cus_1"}}})


async def test_concurrent_workers_cannot_regress_state(runtime: Runtime) -> None:
    events = [
        event("customer.updated", {"id": "cus_1", "object": "customer", "balance": n}, at=BASE + n) for n in range(16)
    ]
    random.Random(7).shuffle(events)
    results = await asyncio.gather(*[apply(runtime, evt) for evt in events])
    assert sum(result.status == ApplyStatus.APPLIED for result in results) >= 1
    record = await stored(runtime, "customer", "cus_1")
    assert (record.data["balance"], record.watermark.event_id) == (15, f"evt_customer.updated_{BASE + 15}")


async def test_event_ids_compare_byte_wise_in_the_database_as_in_python(runtime: Runtime) -> None:
    # Same second, no hint, same phase: the event id decides, "evt_a" > "evt_Z" byte-wise (not in en_US).
    obj = {"id": "cus_1", "object": "customer"}
    await apply(runtime, event("customer.updated", {**obj, "balance": 1}, event_id="evt_a"))
    result = await apply(runtime, event("customer.updated", {**obj, "balance": 2}, event_id="evt_Z"))
    assert result.status == ApplyStatus.SKIPPED_STALE
    assert (await stored(runtime, "customer", "cus_1")).data["balance"] == 1


#: Linguistic collations a PostgreSQL server may offer; under each, "evt_a" sorts before "evt_Z" and "_" before
#: digits — unlike byte order, which Python's ``str`` comparison and the watermark follow.
LINGUISTIC_COLLATIONS = ("en-US-x-icu", "und-x-icu", "en_US.utf8", "en_US.UTF-8")


async def test_event_id_ties_follow_python_order_whatever_the_columns_collation(runtime: Runtime) -> None:
    """The upsert's own ``COLLATE "C"`` decides ties, not the column's or the database's collation: a server
    created with a linguistic default (en_US is common) would otherwise order ids differently from Python and
    from a worker on another database. The column is given such a collation for the test (rolled back after),
    since the test server's default may well be C already, under which the check would prove nothing."""
    ids = ["evt_a", "evt_Z", "evt_z", "evt_A", "evt__", "evt_-", "evt_0", "evt_9Z", "evt_9a", "evt_aB", "evt_Ab"]
    targets = [route(event("customer.updated", {"id": "cus_1", "object": "customer"}, event_id=i)) for i in ids]
    expected = max(target.watermark for target in targets if isinstance(target, Target)).event_id
    assert expected == "evt_z"
    conn = await runtime.db.engine.connect()
    try:
        transaction = await conn.begin()
        if conn.dialect.name == "postgresql":
            available = set((await conn.execute(sa.text("SELECT collname FROM pg_collation"))).scalars())
            collation = next((name for name in LINGUISTIC_COLLATIONS if name in available), None)
            if collation is None:
                pytest.skip("no linguistic collation on this PostgreSQL server")
            await conn.execute(
                sa.text(
                    f"ALTER TABLE {customers.name} ALTER COLUMN watermark_event_id "
                    f'TYPE varchar(255) COLLATE "{collation}"'
                )
            )
        for seed in range(3):
            await conn.execute(sa.delete(customers))
            shuffled = list(ids)
            random.Random(seed).shuffle(shuffled)
            for n, event_id in enumerate(shuffled):
                await apply_event(
                    conn,
                    runtime,
                    event("customer.updated", {"id": "cus_1", "object": "customer", "balance": n}, event_id=event_id),
                )
            stored_id = (await conn.execute(sa.select(customers.c.watermark_event_id))).scalar_one()
            assert stored_id == expected, seed
        await transaction.rollback()
    finally:
        await conn.close()


async def test_a_bare_deletion_stub_keeps_the_objects_last_state(runtime: Runtime) -> None:
    full = {"id": "cus_1", "object": "customer", "balance": 42, "currency": "eur", "created": BASE - 500}
    await apply(runtime, event("customer.updated", full))
    stub = {"id": "cus_1", "object": "customer", "deleted": True}
    result = await apply(runtime, event("customer.deleted", stub, at=BASE + 1, event_id="evt_stub"))
    assert result.status == ApplyStatus.DELETED
    [row] = await rows(runtime, customers)
    assert (row["deleted"], row["balance"], row["currency"], row["watermark_event_id"]) == (True, 42, "eur", "evt_stub")
    assert row["data"] == full
    assert row["created"].timestamp() == BASE - 500


async def test_an_object_without_created_keeps_the_first_known_creation_time(runtime: Runtime) -> None:
    await apply(runtime, event("product.created", {"id": "prod_1", "object": "product", "active": True}))
    await apply(runtime, event("product.updated", {"id": "prod_1", "object": "product", "active": False}, at=BASE + 30))
    record = await stored(runtime, "product", "prod_1")
    assert (record.created.timestamp(), record.data["active"]) == (BASE, False)


class ItemLister:
    """A processor that lists a subscription's items in one page, as ``/v1/subscription_items``."""

    def __init__(self, items: list[str]) -> None:
        self.items = items
        self.asked: list[tuple[str, int, str | None]] = []

    async def close(self) -> None:
        return None

    async def list_subscription_items(self, subscription_id: str, *, limit: int, starting_after: str | None) -> Any:
        self.asked.append((subscription_id, limit, starting_after))
        return {
            "object": "list",
            "has_more": False,
            "data": [
                {"id": item, "object": "subscription_item", "price": {"id": "price_x"}, "quantity": 2}
                for item in self.items
            ],
        }


async def test_truncated_subscription_items_are_completed_and_complete_lists_are_not_fetched(
    runtime: Runtime,
) -> None:
    lister = ItemLister(["si_1", "si_2", "si_3"])
    runtime.processor = lister  # type: ignore[assignment]
    await apply(runtime, event("customer.subscription.created", subscription("active", items=["si_1"])))
    assert lister.asked == []  # a complete embedded list needs no call
    await apply(
        runtime,
        event("customer.subscription.updated", subscription("active", items=["si_1"], has_more=True), at=BASE + 1),
    )
    assert lister.asked == [("sub_1", 100, None)]
    assert [(r["stripe_id"], r["quantity"], r["deleted"]) for r in await rows(runtime, subscription_items)] == [
        ("si_1", 2, False),
        ("si_2", 2, False),
        ("si_3", 2, False),
    ]


async def test_every_mirror_statement_is_compiled_once_and_then_cached(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLAlchemy cannot cache ON CONFLICT constructs; the projection's upserts are cached text instead, so a
    busy dispatcher does not spend a millisecond compiling each event's statements ("no key" in the log)."""
    await apply(runtime, event("customer.subscription.created", subscription("active"), event_id="evt_warm"))
    caplog.set_level("INFO", logger="sqlalchemy.engine.Engine")
    for n, status in enumerate(["past_due", "active", "canceled"], start=1):
        await apply(
            runtime, event("customer.subscription.updated", subscription(status), at=BASE + n, event_id=f"evt_{n}")
        )
    await apply(
        runtime, event("customer.subscription.updated", subscription("active"), at=BASE - 5, event_id="evt_old")
    )  # stale: the skip path too
    compiled = [record.getMessage() for record in caplog.records if record.name == "sqlalchemy.engine.Engine"]
    assert any("cached since" in message for message in compiled)
    assert not [message for message in compiled if "no key" in message]


@pytest.mark.parametrize("quantity_first", [True, False])
async def test_child_rows_of_different_shapes_are_all_written_whole(runtime: Runtime, quantity_first: bool) -> None:
    """The child upsert is a cached statement per row shape; rows whose column sets differ within one list must
    each be written with all their columns (one statement run for all would drop or demand the odd column)."""

    def item_columns(item: Mapping[str, Any]) -> dict[str, Any]:
        columns: dict[str, Any] = {"price_id": item.get("price")}
        if "quantity" in item:
            columns["quantity"] = item["quantity"]
        return columns

    items = [
        {"id": "si_q", "object": "subscription_item", "price": "price_q", "quantity": 3},
        {"id": "si_p", "object": "subscription_item", "price": "price_p"},
    ]
    obj = {
        "id": "sub_1",
        "object": "subscription",
        "status": "active",
        "items": {"object": "list", "has_more": False, "data": items if quantity_first else items[::-1]},
    }
    routed = route(event("customer.subscription.updated", obj))
    assert isinstance(routed, Target)
    child = replace(routed.kind.children[0], columns=item_columns)
    target = replace(routed, kind=replace(routed.kind, children=(child,)))
    async with runtime.db.begin() as conn:
        result = await write_target(conn, target, embedded_children(target.kind, obj), runtime.clock.now())
    assert result.status == ApplyStatus.APPLIED
    assert [(r["stripe_id"], r["price_id"], r["quantity"]) for r in await rows(runtime, subscription_items)] == [
        ("si_p", "price_p", None),
        ("si_q", "price_q", 3),
    ]
