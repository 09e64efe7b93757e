"""Checkout sessions: create, expire, and complete (what a customer does on the hosted page).

Stripe completes a session when the customer pays on its page; the fake has no page, so completing is the
payment-page call ``stripe trigger`` itself makes (``POST /v1/payment_pages/{id}/confirm``) and a method of
the fake for tests and the demo. Completing creates the customer when the session had none, charges (payment
mode), starts the subscription (subscription mode) or saves the card (setup mode), then emits
``checkout.session.completed``; bank debits settle right after, with the ``async_payment_*`` events.
"""

from __future__ import annotations

from typing import Any

from remit.processor.fake import listing
from remit.processor.fake.errors import CARD_ERROR, ApiError, invalid, parameter_missing
from remit.processor.fake.ops import customers, methods, payments, shipping, subscriptions
from remit.processor.fake.ops.common import equal_to, listed
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.shapes import sessions as shapes
from remit.processor.fake.tx import Tx

MODES = {"payment", "subscription", "setup"}


async def create_checkout_session(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/checkout/sessions``. No event: nothing happened yet."""
    mode = p.require_str("mode")
    if mode not in MODES:
        raise invalid(f"Invalid mode: {mode}", param="mode")
    success_url = p.require_str("success_url")
    customer = p.string("customer")
    if customer:
        await tx.get(customer, "customer", param="customer")
    lines: list[dict[str, Any]] = []
    total, currency = 0, None
    for raw in p.array("line_items"):
        item = Params(raw if isinstance(raw, dict) else {})
        if item.has("price_data"):
            raise invalid("The fake processor takes line_items with a price id, not price_data.", param="line_items")
        price = (await tx.get(item.require_str("price"), "price", param="line_items[0][price]")).data
        quantity = item.integer("quantity", 1) or 1
        total += int(price["unit_amount"]) * quantity
        currency = price["currency"]
        lines.append({"price": price["id"], "quantity": quantity})
    if mode != "setup" and not lines:
        raise parameter_missing("line_items")
    options = await shipping.checkout_options(tx, p, mode=mode, currency=currency)
    data = shapes.checkout_session(
        await tx.new_id("checkout.session"),
        created=tx.now,
        mode=mode,
        success_url=success_url,
        cancel_url=p.string("cancel_url"),
        customer=customer,
        customer_email=p.string("customer_email"),
        client_reference_id=p.string("client_reference_id"),
        currency=currency,
        amount_total=total if mode != "setup" else None,
        payment_method_types=p.strings("payment_method_types") or p.strings("allowed_payment_method_types") or ["card"],
        metadata=merge_metadata({}, p.raw("metadata")),
    )
    if options:
        chosen = options[0]
        data.update(shipping_options=options, shipping_rate=chosen["shipping_rate"])
        data["amount_total"] = total + chosen["shipping_amount"]
        data["total_details"]["amount_shipping"] = chosen["shipping_amount"]
    private = {"line_items": lines, "subscription_data": p.mapping("subscription_data")}
    return await tx.insert(data, private)


async def retrieve_checkout_session(tx: Tx, p: Params, session_id: str) -> dict[str, Any]:
    return (await tx.get(session_id, "checkout.session")).data


async def list_checkout_sessions(tx: Tx, p: Params) -> dict[str, Any]:
    return await listed(
        tx,
        p,
        "checkout.session",
        url="/v1/checkout/sessions",
        customer=p.string("customer"),
        where=[equal_to(p, "payment_intent", "status", "subscription")],
    )


async def list_line_items(tx: Tx, p: Params, session_id: str) -> dict[str, Any]:
    """``GET /v1/checkout/sessions/{id}/line_items``: what the session sells, as Stripe's ``item`` objects."""
    found = await tx.get(session_id, "checkout.session")
    items = []
    for index, line in enumerate(found.private.get("line_items") or []):
        price = (await tx.get(line["price"], "price", param="line_items")).data
        product = await tx.find(str(price["product"]))
        quantity = int(line["quantity"])
        amount = int(price["unit_amount"]) * quantity
        items.append(
            {
                "id": f"li_{session_id.removeprefix('cs_test_')}{index:03d}",
                "object": "item",
                "amount_discount": 0,
                "amount_subtotal": amount,
                "amount_tax": 0,
                "amount_total": amount,
                "currency": price["currency"],
                "description": product.data.get("name") if product is not None else None,
                "price": price,
                "quantity": quantity,
            }
        )
    return listing.page(items, p, url=f"/v1/checkout/sessions/{session_id}/line_items", object_type="item")


async def expire_checkout_session(tx: Tx, p: Params, session_id: str) -> dict[str, Any]:
    """``POST /v1/checkout/sessions/{id}/expire`` (and the clock, 24 h after creation)."""
    session = (await tx.get(session_id, "checkout.session")).data
    if session["status"] != "open":
        raise invalid(
            f"Only open sessions can be expired (this one is {session['status']}).",
            code="checkout_session_unexpected_state",
        )
    return await expire(tx, session)


async def expire(tx: Tx, session: dict[str, Any]) -> dict[str, Any]:
    after = dict(session, status="expired", url=None)
    await tx.save(after)
    await tx.emit("checkout.session.expired", after)
    return after


async def complete_checkout_session(tx: Tx, p: Params, session_id: str) -> dict[str, Any]:
    """``POST /v1/payment_pages/{id}/confirm``: the customer pays with ``payment_method`` (default a Visa);
    ``expected_amount``, when given, must be the session's total (what the page showed)."""
    found = await tx.get(session_id, "checkout.session")
    session, private = found.data, found.private
    if session["status"] != "open":
        raise invalid(f"This Checkout Session is {session['status']}.", code="checkout_session_unexpected_state")
    expected = p.integer("expected_amount")
    if expected is not None and expected != (session["amount_total"] or 0):
        raise invalid(
            f"The expected amount ({expected}) does not match the session's amount ({session['amount_total']}).",
            param="expected_amount",
        )
    pm = await methods.resolve(tx, p.string("payment_method") or "pm_card_visa")
    details = pm.data.get("billing_details") or {}
    customer_id = session["customer"]
    if customer_id is None:
        email = session.get("customer_email") or details.get("email")
        customer_id = (await customers.create_customer(tx, Params({"email": email, "name": details.get("name")})))["id"]
    customer = (await tx.get(customer_id, "customer")).data
    session = dict(
        session,
        customer=customer_id,
        status="complete",
        url=None,
        customer_details={
            "email": customer.get("email"),
            "phone": customer.get("phone"),
            "tax_exempt": "none",
            "tax_ids": [],
        },
    )
    mode = session["mode"]
    if mode == "payment":
        return await _complete_payment(tx, session, pm, customer_id)
    pm = await methods.attach(tx, pm.id, customer_id)
    if mode == "setup":
        session.update(setup_intent=await tx.new_id("setup_intent"), payment_status="no_payment_required")
    else:
        sub_data = Params(private.get("subscription_data") or {})
        sub = await subscriptions.start_subscription(
            tx,
            Params(
                {
                    "customer": customer_id,
                    "items": private["line_items"],
                    "default_payment_method": pm.id,
                    "trial_period_days": sub_data.integer("trial_period_days"),
                    "metadata": sub_data.raw("metadata"),
                }
            ),
        )
        if sub["status"] == "incomplete":
            tx.error = ApiError(402, CARD_ERROR, "Your card was declined.", code="card_declined")
            return (await tx.get(session_id, "checkout.session")).data
        session.update(
            subscription=sub["id"], payment_status="no_payment_required" if sub["status"] == "trialing" else "paid"
        )
    await tx.save(session)
    await tx.emit("checkout.session.completed", session)
    return session


async def _complete_payment(tx: Tx, session: dict[str, Any], pm: Any, customer_id: str) -> dict[str, Any]:
    result = await payments.charge_payment_method(
        tx,
        amount=int(session["amount_total"] or 0),
        currency=str(session["currency"] or "usd"),
        customer=customer_id,
        pm=pm,
        description=None,
        metadata=None,
    )
    if not (result.succeeded or result.processing):
        tx.error = result.card_error()
        return (await tx.get(session["id"], "checkout.session")).data
    session.update(payment_intent=result.payment_intent["id"], payment_status="paid" if result.succeeded else "unpaid")
    await tx.save(session)
    await tx.emit("checkout.session.completed", session)
    if result.processing:
        await payments.settle_async(tx, result)
        settled = result.payment_intent["status"] == "succeeded"
        session = dict(session, payment_status="paid" if settled else "unpaid")
        await tx.save(session)
        await tx.emit(
            "checkout.session.async_payment_succeeded" if settled else "checkout.session.async_payment_failed", session
        )
    return session


__all__ = [
    "complete_checkout_session",
    "create_checkout_session",
    "expire",
    "expire_checkout_session",
    "list_checkout_sessions",
    "list_line_items",
    "retrieve_checkout_session",
]
