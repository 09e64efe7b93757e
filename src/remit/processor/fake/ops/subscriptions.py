"""Subscriptions: start (with trials), change plan, cancel now or at period end, pause and resume.

Starting a subscription bills its first period at once, as Stripe does: ``customer.subscription.created``,
then the invoice's ``created`` / ``finalized`` and the payment's events. Whether the first payment will succeed
is known from the card before anything is written, so the created event already carries the final status
(``active``, or ``incomplete`` for a declining card) as Stripe's does.
"""

from __future__ import annotations

import copy
from typing import Any

from remit.processor.fake import listing
from remit.processor.fake.errors import CARD_ERROR, ApiError, invalid, parameter_missing
from remit.processor.fake.errors import missing as missing_object
from remit.processor.fake.ops import discounts, invoices, methods
from remit.processor.fake.ops.common import equal_to, listed, searched
from remit.processor.fake.ops.payments import will_succeed
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.periods import DAY, TRIAL_WILL_END_NOTICE, add_interval
from remit.processor.fake.shapes import billing as shapes
from remit.processor.fake.shapes.catalog import plan
from remit.processor.fake.store import StoredObject
from remit.processor.fake.tx import Tx

LIVE_STATUSES = {"active", "trialing", "past_due", "incomplete", "unpaid", "paused"}


def interval_of(sub: dict[str, Any]) -> tuple[str, int]:
    rec = sub["items"]["data"][0]["price"]["recurring"]
    return str(rec["interval"]), int(rec["interval_count"])


async def _product_name(tx: Tx, price: dict[str, Any]) -> str:
    found = await tx.find(str(price["product"]))
    return str(found.data.get("name")) if found is not None else str(price["product"])


async def period_lines(tx: Tx, sub: dict[str, Any], *, trial: bool) -> list[dict[str, Any]]:
    """One invoice line per item for the subscription's current period (zero during a trial)."""
    lines = []
    for item in sub["items"]["data"]:
        price, quantity = item["price"], int(item["quantity"])
        name = await _product_name(tx, price)
        amount = 0 if trial else int(price["unit_amount"]) * quantity
        description = (
            f"Trial period for {name}"
            if trial
            else f"{quantity} \u00d7 {name} (at {price['unit_amount'] / 100:.2f} {price['currency'].upper()}"
            f" / {price['recurring']['interval']})"
        )
        lines.append(
            shapes.line_item(
                await tx.new_id("line_item"),
                amount=amount,
                currency=price["currency"],
                description=description,
                period_start=sub["current_period_start"],
                period_end=sub["current_period_end"],
                price=price,
                quantity=quantity,
                subscription=sub["id"],
                subscription_item=item["id"],
            )
        )
    return lines


async def bill_period(
    tx: Tx,
    sub: dict[str, Any],
    *,
    billing_reason: str,
    trial: bool = False,
    invoice_id: str | None = None,
    collect: bool = True,
) -> dict[str, Any]:
    """Invoice the current period and collect it: ``invoice.created``, ``invoice.finalized``, payment. Without
    ``collect`` (``payment_behavior=default_incomplete``) the invoice waits with an unconfirmed payment intent
    for the customer to pay."""
    customer = (await tx.get(sub["customer"], "customer", include_deleted=True)).data
    lines = await period_lines(tx, sub, trial=trial)
    inv = await invoices.new_invoice(
        tx,
        customer=customer,
        lines=lines,
        currency=lines[0]["currency"],
        subscription=sub["id"],
        billing_reason=billing_reason,
        collection_method=sub["collection_method"],
        days_until_due=sub["days_until_due"],
        invoice_id=invoice_id,
        period_start=sub["current_period_start"] if billing_reason != "subscription_create" else tx.now,
        period_end=sub["current_period_start"] if billing_reason != "subscription_create" else tx.now,
    )
    await invoices.finalize(tx, inv)
    if inv["status"] == "open" and sub["collection_method"] == "charge_automatically":
        if collect:
            await invoices.attempt_payment(tx, inv, await invoices.payment_method_for(tx, inv))
        else:
            await invoices.await_payment(tx, inv)
    return inv


async def _items_from(tx: Tx, raw_items: list[Any], sub_id: str) -> list[dict[str, Any]]:
    items = []
    for raw in raw_items:
        item = Params(raw if isinstance(raw, dict) else {"price": raw})
        price = (await tx.get(item.require_str("price"), "price", param="items[0][price]")).data
        if not price.get("recurring"):
            raise invalid(
                "The price specified is set to `type=one_time` but this field only accepts prices "
                "with `type=recurring`.",
                param="items[0][price]",
            )
        items.append(
            shapes.subscription_item(
                await tx.new_id("subscription_item"),
                created=tx.now,
                subscription=sub_id,
                price=price,
                quantity=item.integer("quantity", 1) or 1,
                metadata=merge_metadata({}, item.raw("metadata")),
            )
        )
    return items


async def start_subscription(tx: Tx, p: Params, *, default_pm: str | None = None) -> dict[str, Any]:
    """The body of ``POST /v1/subscriptions`` (also used by subscription-mode checkout)."""
    customer = (await tx.get(p.require_str("customer"), "customer", param="customer")).data
    raw_items = p.array("items")
    if not raw_items:
        raise parameter_missing("items")
    pm_ref = p.string("default_payment_method") or default_pm
    pm: StoredObject | None = None
    if pm_ref:
        pm = await methods.attach(tx, pm_ref, customer["id"])
    else:
        pm = await invoices.payment_method_for(tx, {"customer": customer["id"], "default_payment_method": None})
    sub_id = await tx.new_id("subscription")
    items = await _items_from(tx, raw_items, sub_id)
    interval, count = interval_of({"items": {"data": items}})
    trial_end = _trial_end(tx, p)
    collection = p.string("collection_method", "charge_automatically") or "charge_automatically"
    behavior = p.string("payment_behavior", "allow_incomplete")
    if collection == "send_invoice" and not p.has("days_until_due"):
        raise invalid(
            "Missing required param: days_until_due. It is required when collection_method is send_invoice.",
            param="days_until_due",
            code="parameter_missing",
        )
    if trial_end is not None:
        status = "trialing"
    elif collection == "send_invoice" or (behavior != "default_incomplete" and will_succeed(pm)):
        status = "active"
    else:
        status = "incomplete"
    if status == "incomplete" and behavior == "error_if_incomplete":
        raise ApiError(402, CARD_ERROR, "Your card was declined.", code="card_declined", param="default_payment_method")
    invoice_id = await tx.new_id("invoice")
    sub = shapes.subscription(
        sub_id,
        created=tx.now,
        customer=customer["id"],
        items=items,
        status=status,
        period_start=tx.now,
        period_end=trial_end if trial_end is not None else add_interval(tx.now, interval, count),
        trial_start=tx.now if trial_end is not None else None,
        trial_end=trial_end,
        default_payment_method=pm.id if pm is not None and p.string("default_payment_method") else None,
        metadata=merge_metadata({}, p.raw("metadata")),
        collection_method=collection,
        days_until_due=p.integer("days_until_due"),
        latest_invoice=invoice_id,
    )
    if p.has("description"):
        sub["description"] = p.string("description")
    coupon_id = discounts.coupon_of(p)
    if coupon_id:
        sub["discount"] = await discounts.make_discount(
            tx,
            coupon_id,
            customer=customer["id"],
            subscription=sub_id,
            param="coupon" if p.has("coupon") else "discounts",
        )
    missing_pm = p.sub("trial_settings").sub("end_behavior").string("missing_payment_method", "create_invoice")
    private = {"trial_end_behavior": missing_pm, "trial_will_end_sent": False}
    await tx.insert(sub, private)
    await tx.emit("customer.subscription.created", sub)
    if sub["discount"]:
        await tx.emit("customer.discount.created", sub["discount"])
    await bill_period(
        tx,
        sub,
        billing_reason="subscription_create",
        trial=trial_end is not None,
        invoice_id=invoice_id,
        collect=behavior != "default_incomplete",
    )
    if p.boolean("cancel_at_period_end"):
        await _set_cancel_at_period_end(tx, sub_id, True)
    await notify_trial_ending(tx, sub_id)
    return (await tx.get(sub_id, "subscription")).data


def _trial_end(tx: Tx, p: Params) -> int | None:
    if p.string("trial_end") == "now":
        return None
    if p.has("trial_end"):
        return p.integer("trial_end")
    days = p.integer("trial_period_days")
    return tx.now + days * DAY if days else None


async def notify_trial_ending(tx: Tx, sub_id: str) -> None:
    """``customer.subscription.trial_will_end`` once, three days before a trial ends (or at once if sooner)."""
    found = await tx.get(sub_id, "subscription")
    sub, private = found.data, found.private
    if sub["status"] != "trialing" or private.get("trial_will_end_sent") or sub["trial_end"] is None:
        return
    if sub["trial_end"] - tx.now <= TRIAL_WILL_END_NOTICE:
        await tx.save(sub, dict(private, trial_will_end_sent=True))
        await tx.emit("customer.subscription.trial_will_end", sub)


async def create_subscription(tx: Tx, p: Params) -> dict[str, Any]:
    return await start_subscription(tx, p)


async def end_trial(tx: Tx, sub_id: str, *, billing_reason: str) -> None:
    """The trial is over: pause when there is no way to pay and the subscription asked for that, else start
    the first paid period."""
    found = await tx.get(sub_id, "subscription")
    before, private = found.data, found.private
    after = copy.deepcopy(before)
    after["trial_end"] = min(int(before["trial_end"] or tx.now), tx.now)
    pm = await invoices.payment_method_for(
        tx, {"customer": before["customer"], "default_payment_method": before["default_payment_method"]}
    )
    if pm is None and private.get("trial_end_behavior") == "pause":
        after.update(status="paused", current_period_end=tx.now)
        await tx.save(after)
        await tx.emit("customer.subscription.updated", after, before=before)
        await tx.emit("customer.subscription.paused", after)
        return
    await start_new_period(tx, before, after, billing_reason=billing_reason, start=tx.now)


async def start_new_period(
    tx: Tx, before: dict[str, Any], after: dict[str, Any], *, billing_reason: str, start: int
) -> None:
    """Move ``after`` into the period beginning at ``start``, announce it, and bill it."""
    interval, count = interval_of(after)
    invoice_id = await tx.new_id("invoice")
    after.update(
        current_period_start=start, current_period_end=add_interval(start, interval, count), latest_invoice=invoice_id
    )
    if after["status"] in {"trialing", "paused"}:
        after["status"] = "active"
    await tx.save(after)
    await tx.emit("customer.subscription.updated", after, before=before)
    await bill_period(tx, after, billing_reason=billing_reason, invoice_id=invoice_id)


async def update_subscription(tx: Tx, p: Params, sub_id: str) -> dict[str, Any]:
    """``POST /v1/subscriptions/{id}``: plan, quantity, metadata, cancel-at-period-end, default payment method,
    ``trial_end=now``. Prorations are not computed: the new price applies from the next period."""
    found = await tx.get(sub_id, "subscription")
    before = found.data
    if before["status"] in {"canceled", "incomplete_expired"}:
        raise invalid("A canceled subscription can only update its metadata.", code="resource_missing")
    after = copy.deepcopy(before)
    after["metadata"] = merge_metadata(before["metadata"], p.raw("metadata"))
    if p.boolean("cancel_at_period_end") is not None:
        _apply_cancel_at_period_end(tx, after, bool(p.boolean("cancel_at_period_end")))
    if "default_payment_method" in p.data:
        ref = p.string("default_payment_method") or None
        after["default_payment_method"] = (await methods.attach(tx, ref, before["customer"])).id if ref else None
    if p.array("items"):
        await _change_items(tx, after, p.array("items"))
    for key in ("collection_method", "days_until_due", "description"):
        if key in p.data:
            after[key] = p.raw(key) if p.raw(key) != "" else None
    if "coupon" in p.data or "discounts" in p.data:
        if before.get("discount"):
            await discounts.remove(tx, after)
        coupon_id = discounts.coupon_of(p)
        if coupon_id:
            after["discount"] = await discounts.make_discount(
                tx, coupon_id, customer=before["customer"], subscription=sub_id
            )
            await tx.emit("customer.discount.created", after["discount"])
    ending_trial = p.string("trial_end") == "now" and before["status"] == "trialing"
    if after != before:
        await tx.save(after)
        await tx.emit("customer.subscription.updated", after, before=before)
    if ending_trial:
        await end_trial(tx, sub_id, billing_reason="subscription_update")
    return (await tx.get(sub_id, "subscription")).data


async def _change_items(tx: Tx, sub: dict[str, Any], raw_items: list[Any]) -> None:
    data = sub["items"]["data"]
    for raw in raw_items:
        item = Params(raw if isinstance(raw, dict) else {})
        item_id = item.string("id")
        if item_id is None:
            data.extend(await _items_from(tx, [raw], sub["id"]))
            continue
        matches = [existing for existing in data if existing["id"] == item_id]
        if not matches:
            raise invalid(
                f"Subscription item {item_id} does not belong to this subscription.",
                param="items",
                code="resource_missing",
            )
        if item.boolean("deleted"):
            data.remove(matches[0])
            continue
        if item.has("price"):
            price = (await tx.get(item.require_str("price"), "price", param="items[0][price]")).data
            matches[0].update(price=price, plan=plan(price))
        if item.has("quantity"):
            matches[0]["quantity"] = item.integer("quantity")
    if not data:
        raise invalid("A subscription needs at least one item.", param="items")
    shapes.refresh_plan(sub)


def _apply_cancel_at_period_end(tx: Tx, sub: dict[str, Any], flag: bool) -> None:
    sub["cancel_at_period_end"] = flag
    sub["cancel_at"] = sub["current_period_end"] if flag else None
    sub["canceled_at"] = tx.now if flag else None


async def _set_cancel_at_period_end(tx: Tx, sub_id: str, flag: bool) -> dict[str, Any]:
    before = (await tx.get(sub_id, "subscription")).data
    after = copy.deepcopy(before)
    _apply_cancel_at_period_end(tx, after, flag)
    if after != before:
        await tx.save(after)
        await tx.emit("customer.subscription.updated", after, before=before)
    return after


async def end_subscription(tx: Tx, sub: dict[str, Any]) -> dict[str, Any]:
    """End now: ``customer.subscription.deleted`` with status ``canceled``."""
    after = copy.deepcopy(sub)
    after.update(
        status="canceled", canceled_at=sub.get("canceled_at") or tx.now, ended_at=tx.now, cancel_at_period_end=False
    )
    await tx.save(after)
    await tx.emit("customer.subscription.deleted", after)
    return after


async def cancel_subscription(tx: Tx, p: Params, sub_id: str) -> dict[str, Any]:
    """``DELETE /v1/subscriptions/{id}``; ``cancellation_details`` records the customer's comment and
    feedback."""
    sub = (await tx.get(sub_id, "subscription")).data
    if sub["status"] == "canceled":
        raise invalid(f"No such subscription: '{sub_id}'", code="resource_missing")
    details = p.sub("cancellation_details")
    sub = dict(
        sub,
        cancellation_details={
            "comment": details.string("comment") or None,
            "feedback": details.string("feedback") or None,
            "reason": "cancellation_requested",
        },
    )
    return await end_subscription(tx, sub)


async def resume_subscription(tx: Tx, p: Params, sub_id: str) -> dict[str, Any]:
    """``POST /v1/subscriptions/{id}/resume``: a paused subscription starts a new period now."""
    before = (await tx.get(sub_id, "subscription")).data
    if before["status"] != "paused":
        raise invalid("Only paused subscriptions can be resumed.", code="subscription_not_paused")
    after = copy.deepcopy(before)
    after["billing_cycle_anchor"] = tx.now
    await tx.emit("customer.subscription.resumed", dict(after, status="active"))
    await start_new_period(tx, before, after, billing_reason="subscription_update", start=tx.now)
    return (await tx.get(sub_id, "subscription")).data


async def retrieve_subscription(tx: Tx, p: Params, sub_id: str) -> dict[str, Any]:
    return (await tx.get(sub_id, "subscription")).data


def _status_holds(wanted: str | None, status: str) -> bool:
    """Stripe's ``status`` filter: none lists every subscription not canceled, ``ended`` the canceled and
    expired ones, ``all`` every one."""
    if wanted is None:
        return status != "canceled"
    if wanted == "ended":
        return status in {"canceled", "incomplete_expired"}
    return wanted in {status, "all"}


async def list_subscriptions(tx: Tx, p: Params) -> dict[str, Any]:
    status, price = p.string("status"), p.string("price")
    return await listed(
        tx,
        p,
        "subscription",
        url="/v1/subscriptions",
        customer=p.string("customer"),
        where=[
            lambda sub: _status_holds(status, sub["status"]),
            equal_to(p, "collection_method"),
            lambda sub: price is None or any(item["price"]["id"] == price for item in sub["items"]["data"]),
        ],
    )


async def search_subscriptions(tx: Tx, p: Params) -> dict[str, Any]:
    return await searched(tx, p, "subscription", "subscriptions")


async def delete_discount(tx: Tx, p: Params, sub_id: str) -> dict[str, Any]:
    """``DELETE /v1/subscriptions/{id}/discount``: ``customer.discount.deleted``,
    ``customer.subscription.updated``; a subscription without a discount is Stripe's 404."""
    before = (await tx.get(sub_id, "subscription")).data
    after = copy.deepcopy(before)
    removed = await discounts.remove(tx, after)
    await tx.save(after)
    await tx.emit("customer.subscription.updated", after, before=before)
    return removed


async def list_subscription_items(tx: Tx, p: Params) -> dict[str, Any]:
    """``GET /v1/subscription_items?subscription=…``: every item of the subscription, a page at a time, from the
    stored subscription (whose ``items`` is always whole: only what the fake returns and emits is cut)."""
    sub_id = p.require_str("subscription")
    sub = (await tx.get(sub_id, "subscription", param="subscription")).data
    items = [_with_period(item, sub) for item in sub["items"]["data"]]
    return listing.page(items, p, url="/v1/subscription_items", object_type="subscription_item")


def _with_period(item: dict[str, Any], sub: dict[str, Any]) -> dict[str, Any]:
    """An item as listed on its own: it carries its subscription's period (API versions from basil on show
    it on the item; older ones drop it)."""
    return dict(item, current_period_start=sub["current_period_start"], current_period_end=sub["current_period_end"])


async def retrieve_subscription_item(tx: Tx, p: Params, item_id: str) -> dict[str, Any]:
    """``GET /v1/subscription_items/{id}``."""
    for sub in await tx.list("subscription"):
        for item in sub.data["items"]["data"]:
            if item["id"] == item_id:
                return _with_period(item, sub.data)
    raise missing_object("subscription_item", item_id)


__all__ = [
    "LIVE_STATUSES",
    "bill_period",
    "cancel_subscription",
    "create_subscription",
    "delete_discount",
    "end_subscription",
    "end_trial",
    "list_subscription_items",
    "list_subscriptions",
    "notify_trial_ending",
    "resume_subscription",
    "retrieve_subscription",
    "retrieve_subscription_item",
    "search_subscriptions",
    "start_new_period",
    "start_subscription",
    "update_subscription",
]
