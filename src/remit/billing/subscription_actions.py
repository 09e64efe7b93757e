"""Billing actions on subscriptions: subscribe, change plan, cancel, resume. See :mod:`remit.billing.actions`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from remit.billing import action_params as params_
from remit.billing.action_common import Target, link_customer, package_of, price_of, resolve
from remit.billing.action_runner import ActionRequest, ActionResult, InvalidActionRequest, perform
from remit.processor.base import Processor, StripeObject
from remit.provisioning.handoff import ACCOUNT_KEY, PACKAGE_KEY

PRORATION_BEHAVIORS = ("create_prorations", "none", "always_invoice")


def _price_or_package(price: object, package: object, *, required: bool) -> tuple[str | None, str | None]:
    chosen_price = params_.text(price, "price", limit=255)
    chosen_package = params_.text(package, "package", limit=64)
    if chosen_price and chosen_package:
        raise InvalidActionRequest("give price or package, not both", param="price")
    if required and not chosen_price and not chosen_package:
        raise InvalidActionRequest("price or package is required", param="package", code="parameter_missing")
    return chosen_price, chosen_package


async def subscribe(
    target: Target,
    *,
    customer: str,
    idempotency_key: str,
    package: str | None = None,
    price: str | None = None,
    quantity: int | None = None,
    trial_period_days: int | None = None,
    default_payment_method: str | None = None,
    metadata: Mapping[str, str] | None = None,
    account_id: str | None = None,
) -> ActionResult:
    """Subscribe ``customer`` to a ``package`` (its price) or a ``price``; the first invoice is charged at once,
    as in Stripe. With ``account_id`` (and a package) the subscription's metadata carries the account and the
    package as a checkout's does."""
    runtime, conn = resolve(target)
    key = params_.check_key(idempotency_key)
    customer_id = params_.text(customer, "customer", required=True, limit=255)
    assert customer_id is not None
    chosen_price, slug = _price_or_package(price, package, required=True)
    chosen = package_of(runtime, slug) if slug else None
    account = params_.text(account_id, "account_id", limit=255)
    meta = params_.metadata(metadata) or {}
    if account:
        meta[ACCOUNT_KEY] = account
    if chosen:
        meta[PACKAGE_KEY] = chosen.slug
    params: dict[str, Any] = {
        "customer": customer_id,
        "price": chosen_price,
        "package": chosen.slug if chosen else None,
        "quantity": params_.positive(quantity, "quantity"),
        "trial_period_days": params_.positive(trial_period_days, "trial_period_days"),
        "default_payment_method": params_.text(default_payment_method, "default_payment_method", limit=255),
        "metadata": meta or None,
    }
    request = ActionRequest("subscribe", key, params, account_id=account, customer_id=customer_id)

    async def call(processor: Processor) -> StripeObject:
        item: dict[str, Any] = {"price": chosen_price or await price_of(processor, chosen)}  # type: ignore[arg-type]
        if params["quantity"]:
            item["quantity"] = params["quantity"]
        return await processor.create_subscription(
            customer=customer_id,
            items=[item],
            idempotency_key=key,
            trial_period_days=params["trial_period_days"],
            default_payment_method=params["default_payment_method"],
            metadata=params["metadata"],
        )

    async def record(tx: AsyncConnection, obj: StripeObject) -> None:
        if account:
            await link_customer(tx, account, customer_id, runtime.clock.now())

    return await perform(runtime, conn, request, call, record)


async def change_plan(
    target: Target,
    subscription_id: str,
    *,
    idempotency_key: str,
    package: str | None = None,
    price: str | None = None,
    quantity: int | None = None,
    proration_behavior: str | None = None,
) -> ActionResult:
    """Move a single-item subscription to another ``package`` or ``price`` (and/or ``quantity``);
    ``proration_behavior`` (``create_prorations``, ``none``, ``always_invoice``) is passed through as given,
    and the processor's default applies when it is not."""
    runtime, conn = resolve(target)
    key = params_.check_key(idempotency_key)
    subscription = params_.text(subscription_id, "subscription", required=True, limit=255)
    assert subscription is not None
    chosen_price, slug = _price_or_package(price, package, required=quantity is None)
    chosen = package_of(runtime, slug) if slug else None
    if proration_behavior is not None and proration_behavior not in PRORATION_BEHAVIORS:
        raise InvalidActionRequest(
            f"proration_behavior must be one of {', '.join(PRORATION_BEHAVIORS)}", param="proration_behavior"
        )
    params: dict[str, Any] = {
        "subscription": subscription,
        "price": chosen_price,
        "package": chosen.slug if chosen else None,
        "quantity": params_.positive(quantity, "quantity"),
        "proration_behavior": proration_behavior,
    }
    request = ActionRequest("change_plan", key, params)

    async def call(processor: Processor) -> StripeObject:
        new_price = chosen_price or (await price_of(processor, chosen) if chosen else None)
        return await processor.update_subscription(
            subscription,
            idempotency_key=key,
            price=new_price,
            quantity=params["quantity"],
            proration_behavior=proration_behavior,
            metadata={PACKAGE_KEY: chosen.slug} if chosen else None,
        )

    return await perform(runtime, conn, request, call)


async def cancel_subscription(
    target: Target,
    subscription_id: str,
    *,
    idempotency_key: str,
    at_period_end: bool = False,
) -> ActionResult:
    """End the subscription now, or at the end of its period (``at_period_end``)."""
    runtime, conn = resolve(target)
    key = params_.check_key(idempotency_key)
    subscription = params_.text(subscription_id, "subscription", required=True, limit=255)
    assert subscription is not None
    if not isinstance(at_period_end, bool):
        raise InvalidActionRequest("at_period_end must be true or false", param="at_period_end")
    request = ActionRequest("cancel_subscription", key, {"subscription": subscription, "at_period_end": at_period_end})

    async def call(processor: Processor) -> StripeObject:
        return await processor.cancel_subscription(subscription, idempotency_key=key, at_period_end=at_period_end)

    return await perform(runtime, conn, request, call)


async def resume_subscription(
    target: Target,
    subscription_id: str,
    *,
    idempotency_key: str,
) -> ActionResult:
    """Undo a cancel at period end, or resume a paused subscription."""
    runtime, conn = resolve(target)
    key = params_.check_key(idempotency_key)
    subscription = params_.text(subscription_id, "subscription", required=True, limit=255)
    assert subscription is not None
    request = ActionRequest("resume_subscription", key, {"subscription": subscription})

    async def call(processor: Processor) -> StripeObject:
        return await processor.resume_subscription(subscription, idempotency_key=key)

    return await perform(runtime, conn, request, call)


__all__ = ["PRORATION_BEHAVIORS", "cancel_subscription", "change_plan", "resume_subscription", "subscribe"]
