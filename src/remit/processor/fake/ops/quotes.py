"""Quotes: a draft of prices for a customer, finalized (open), then accepted — which makes the invoice (one-time
prices) or the subscription (recurring prices) it promised — or canceled.

As at Stripe: only a draft can be changed or finalized, a quote needs a customer and at least one line to be
finalized, only an open quote can be accepted (and only before it expires), a draft or open one can be
canceled; its lines are listed by ``GET /v1/quotes/{id}/line_items`` and shown on the quote only with
``expand[]=line_items``. Accepting a one-time quote makes a draft invoice of its lines (``billing_reason``
``quote_accept``, the invoice naming the quote), to be finalized as any other; accepting a recurring one starts
the subscription, billed at once as ``POST /v1/subscriptions`` is. Not modelled: a quote mixing one-time and
recurring prices, discounts, taxes, subscription schedules (``effective_date``), revisions (``from_quote``)
and the PDF.
"""

from __future__ import annotations

import copy
from typing import Any

from remit.processor.fake import listing
from remit.processor.fake.errors import invalid
from remit.processor.fake.ops import invoices, subscriptions
from remit.processor.fake.ops.common import apply_fields, equal_to, listed
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.shapes import billing as billing_shapes
from remit.processor.fake.shapes import quotes as shapes
from remit.processor.fake.tx import Tx

NUMBER_PREFIX = "QT-FAKE0001"


async def _items(tx: Tx, quote_id: str, raw_lines: list[Any]) -> list[dict[str, Any]]:
    """The quote's lines from ``line_items[]`` (a price id and a quantity each), refused as Stripe refuses a
    quote whose prices differ in currency or billing cycle."""
    items: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_lines):
        line = Params(raw if isinstance(raw, dict) else {})
        param = f"line_items[{index}][price]"
        price = (await tx.get(line.require_str("price"), "price", param=param)).data
        if not price.get("active", True):
            raise invalid(f"The price {price['id']} is not active.", param=param)
        product = await tx.find(str(price["product"]))
        name = product.data.get("name") if product is not None else None
        suffix = quote_id.split("_", 1)[1]
        items.append(
            shapes.quote_item(
                f"li_{suffix}{index:03d}", price=price, quantity=line.integer("quantity", 1) or 1, description=name
            )
        )
    if len({item["currency"] for item in items}) > 1:
        raise invalid("All prices on a quote must have the same currency.", param="line_items")
    cycles = {
        (item["price"]["recurring"]["interval"], item["price"]["recurring"]["interval_count"])
        for item in items
        if item["price"].get("recurring")
    }
    if len(cycles) > 1:
        raise invalid("All recurring prices on a quote must have the same billing interval.", param="line_items")
    if cycles and any(not item["price"].get("recurring") for item in items):
        raise invalid(
            "The fake processor takes quotes of recurring prices or of one-time prices, not both.", param="line_items"
        )
    return items


def _subscription_data(p: Params, current: dict[str, Any] | None = None) -> dict[str, Any]:
    data = copy.deepcopy(current) if current else {"description": None, "effective_date": None, "metadata": {}}
    data.setdefault("trial_period_days", None)
    sub = p.sub("subscription_data")
    if sub.has("description"):
        data["description"] = sub.string("description") or None
    if sub.has("metadata"):
        data["metadata"] = merge_metadata(data.get("metadata") or {}, sub.raw("metadata"))
    if sub.has("trial_period_days"):
        data["trial_period_days"] = sub.integer("trial_period_days")
    return data


def _days_until_due(p: Params, current: int | None = None) -> int | None:
    settings = p.sub("invoice_settings")
    return settings.integer("days_until_due") if settings.has("days_until_due") else current


def _check_collection(data: dict[str, Any]) -> None:
    days = data["invoice_settings"]["days_until_due"]
    if data["collection_method"] == "charge_automatically" and days is not None:
        raise invalid(
            "invoice_settings[days_until_due] can only be set when collection_method is send_invoice.",
            param="invoice_settings[days_until_due]",
        )


async def _shown(tx: Tx, p: Params, data: dict[str, Any], private: dict[str, Any]) -> dict[str, Any]:
    """The quote as answered: with its lines when ``expand[]=line_items`` asks for them."""
    if "line_items" not in p.strings("expand"):
        return data
    items = private.get("line_items") or []
    shown = dict(data)
    shown["line_items"] = listing.page(
        items, Params({"limit": 10}), url=f"/v1/quotes/{data['id']}/line_items", object_type="item"
    )
    return shown


async def create_quote(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/quotes``: a draft; ``quote.created``."""
    customer = p.string("customer")
    if customer:
        await tx.get(customer, "customer", param="customer")
    quote_id = await tx.new_id("quote")
    items = await _items(tx, quote_id, p.array("line_items"))
    expires_at = p.integer("expires_at", tx.now + shapes.QUOTE_LIFETIME) or tx.now + shapes.QUOTE_LIFETIME
    if expires_at <= tx.now:
        raise invalid("expires_at must be in the future.", param="expires_at")
    data = shapes.quote(
        quote_id,
        created=tx.now,
        customer=customer,
        items=items,
        currency=items[0]["currency"] if items else None,
        collection_method=p.string("collection_method", "charge_automatically") or "charge_automatically",
        days_until_due=_days_until_due(p),
        description=p.string("description"),
        header=p.string("header"),
        footer=p.string("footer"),
        expires_at=expires_at,
        metadata=merge_metadata({}, p.raw("metadata")),
        subscription_data=_subscription_data(p),
    )
    _check_collection(data)
    private = {"line_items": items}
    await tx.insert(data, private)
    await tx.emit("quote.created", data)
    return await _shown(tx, p, data, private)


async def retrieve_quote(tx: Tx, p: Params, quote_id: str) -> dict[str, Any]:
    found = await tx.get(quote_id, "quote")
    return await _shown(tx, p, found.data, found.private)


async def list_quotes(tx: Tx, p: Params) -> dict[str, Any]:
    return await listed(tx, p, "quote", url="/v1/quotes", customer=p.string("customer"), where=[equal_to(p, "status")])


async def update_quote(tx: Tx, p: Params, quote_id: str) -> dict[str, Any]:
    """``POST /v1/quotes/{id}``: a draft's customer, lines, texts, expiry, collection and metadata (no event:
    Stripe has none for a quote's update)."""
    found = await tx.get(quote_id, "quote")
    before, private = found.data, dict(found.private)
    if before["status"] != "draft":
        raise invalid(
            f"You can only update a quote in status draft (this one is {before['status']}).",
            code="quote_unexpected_state",
        )
    after = copy.deepcopy(before)
    if p.has("customer"):
        customer = p.string("customer")
        if customer:
            await tx.get(customer, "customer", param="customer")
        after["customer"] = customer or None
    if p.has("line_items"):
        private["line_items"] = await _items(tx, quote_id, p.array("line_items"))
    apply_fields(after, p, "description", "header", "footer", "expires_at", "collection_method", "metadata")
    after["invoice_settings"]["days_until_due"] = _days_until_due(p, before["invoice_settings"]["days_until_due"])
    after["subscription_data"] = _subscription_data(p, before["subscription_data"])
    items = private["line_items"]
    fresh = shapes.quote(
        quote_id,
        created=before["created"],
        customer=None,
        items=items,
        currency=items[0]["currency"] if items else None,
        collection_method=after["collection_method"],
        days_until_due=None,
        description=None,
        header=None,
        footer=None,
        expires_at=after["expires_at"],
        metadata={},
        subscription_data=after["subscription_data"],
    )
    for key in ("amount_subtotal", "amount_total", "computed", "currency"):
        after[key] = fresh[key]
    _check_collection(after)
    await tx.save(after, private)
    return await _shown(tx, p, after, private)


async def finalize_quote(tx: Tx, p: Params, quote_id: str) -> dict[str, Any]:
    """``POST /v1/quotes/{id}/finalize``: draft → open, numbered; ``quote.finalized``."""
    found = await tx.get(quote_id, "quote")
    data = copy.deepcopy(found.data)
    if data["status"] != "draft":
        raise invalid(
            f"This quote cannot be finalized because it has a status of {data['status']}. "
            "Only draft quotes can be finalized.",
            code="quote_unexpected_state",
        )
    if data["customer"] is None:
        raise invalid("A quote needs a customer before it can be finalized.", param="customer")
    if not found.private.get("line_items"):
        raise invalid("A quote needs at least one line item before it can be finalized.", param="line_items")
    if p.has("expires_at"):
        data["expires_at"] = p.integer("expires_at")
    if data["expires_at"] <= tx.now:
        raise invalid("The quote's expires_at must be in the future to finalize it.", param="expires_at")
    data.update(status="open", number=f"{NUMBER_PREFIX}-{await tx.number('quote_number'):04d}")
    data["status_transitions"]["finalized_at"] = tx.now
    await tx.save(data)
    await tx.emit("quote.finalized", data)
    return await _shown(tx, p, data, found.private)


async def cancel_quote(tx: Tx, p: Params, quote_id: str) -> dict[str, Any]:
    """``POST /v1/quotes/{id}/cancel``: a draft or open quote → canceled; ``quote.canceled``."""
    found = await tx.get(quote_id, "quote")
    data = copy.deepcopy(found.data)
    if data["status"] not in {"draft", "open"}:
        raise invalid(
            f"This quote cannot be canceled because it has a status of {data['status']}.",
            code="quote_unexpected_state",
        )
    data["status"] = "canceled"
    data["status_transitions"]["canceled_at"] = tx.now
    await tx.save(data)
    await tx.emit("quote.canceled", data)
    return await _shown(tx, p, data, found.private)


async def accept_quote(tx: Tx, p: Params, quote_id: str) -> dict[str, Any]:
    """``POST /v1/quotes/{id}/accept``: open → accepted; ``quote.accepted`` and what the invoice (one-time
    prices) or the subscription (recurring prices) it makes emits."""
    found = await tx.get(quote_id, "quote")
    data = copy.deepcopy(found.data)
    if data["status"] != "open":
        raise invalid(
            f"This quote cannot be accepted because it has a status of {data['status']}. "
            "Only open quotes can be accepted.",
            code="quote_unexpected_state",
        )
    if data["expires_at"] <= tx.now:
        raise invalid("This quote has expired and can no longer be accepted.", code="quote_unexpected_state")
    items: list[dict[str, Any]] = found.private["line_items"]
    if data["computed"]["recurring"] is not None:
        await _start_subscription(tx, data, items)
    else:
        await _draft_invoice(tx, data, items)
    data["status"] = "accepted"
    data["status_transitions"]["accepted_at"] = tx.now
    await tx.save(data)
    await tx.emit("quote.accepted", data)
    return await _shown(tx, p, data, found.private)


async def _start_subscription(tx: Tx, data: dict[str, Any], items: list[dict[str, Any]]) -> None:
    terms = data["subscription_data"]
    sub = await subscriptions.start_subscription(
        tx,
        Params(
            {
                "customer": data["customer"],
                "items": [{"price": item["price"]["id"], "quantity": item["quantity"]} for item in items],
                "collection_method": data["collection_method"],
                "days_until_due": data["invoice_settings"]["days_until_due"]
                if data["collection_method"] == "send_invoice"
                else None,
                "description": terms.get("description"),
                "metadata": terms.get("metadata") or None,
                "trial_period_days": terms.get("trial_period_days"),
            }
        ),
    )
    data.update(subscription=sub["id"], invoice=sub["latest_invoice"])


async def _draft_invoice(tx: Tx, data: dict[str, Any], items: list[dict[str, Any]]) -> None:
    customer = (await tx.get(str(data["customer"]), "customer", param="customer")).data
    invoice_id = await tx.new_id("invoice")
    lines = []
    for item in items:
        invoice_item = billing_shapes.invoice_item(
            await tx.new_id("invoiceitem"),
            created=tx.now,
            customer=customer["id"],
            amount=int(item["amount_total"]),
            currency=str(item["currency"]),
            description=item["description"],
            price=item["price"],
            quantity=int(item["quantity"]),
            metadata={},
        )
        invoice_item["invoice"] = invoice_id
        await tx.insert(invoice_item)
        await tx.emit("invoiceitem.created", invoice_item)
        lines.append(
            billing_shapes.line_item(
                await tx.new_id("line_item"),
                amount=invoice_item["amount"],
                currency=invoice_item["currency"],
                description=invoice_item["description"],
                period_start=tx.now,
                period_end=tx.now,
                price=item["price"],
                quantity=invoice_item["quantity"],
                subscription=None,
                invoice_item=invoice_item["id"],
                metadata={},
            )
        )
    send = data["collection_method"] == "send_invoice"
    invoice = await invoices.new_invoice(
        tx,
        customer=customer,
        lines=lines,
        currency=str(data["currency"]),
        subscription=None,
        billing_reason="quote_accept",
        collection_method=data["collection_method"],
        description=data["description"],
        days_until_due=(data["invoice_settings"]["days_until_due"] or 30) if send else None,
        invoice_id=invoice_id,
        quote=data["id"],
    )
    data["invoice"] = invoice["id"]


async def _quote_lines(tx: Tx, p: Params, quote_id: str, which: str) -> dict[str, Any]:
    found = await tx.get(quote_id, "quote")
    items = list(found.private.get("line_items") or [])
    if which == "computed_upfront_line_items" and found.data["subscription_data"].get("trial_period_days"):
        items = [
            dict(item, amount_subtotal=0, amount_total=0) if item["price"].get("recurring") else item for item in items
        ]
    return listing.page(items, p, url=f"/v1/quotes/{quote_id}/{which}", object_type="item")


async def list_line_items(tx: Tx, p: Params, quote_id: str) -> dict[str, Any]:
    """``GET /v1/quotes/{id}/line_items``: the quote's lines, as Stripe's ``item`` objects."""
    return await _quote_lines(tx, p, quote_id, "line_items")


async def list_computed_upfront_line_items(tx: Tx, p: Params, quote_id: str) -> dict[str, Any]:
    """``GET /v1/quotes/{id}/computed_upfront_line_items``: what the first invoice will bill (the recurring
    lines at zero during a trial)."""
    return await _quote_lines(tx, p, quote_id, "computed_upfront_line_items")


__all__ = [
    "accept_quote",
    "cancel_quote",
    "create_quote",
    "finalize_quote",
    "list_computed_upfront_line_items",
    "list_line_items",
    "list_quotes",
    "retrieve_quote",
    "update_quote",
]
