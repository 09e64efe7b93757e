"""Billing actions that open a hosted page: a checkout (an account buying a package) and a billing-portal
session. See :mod:`remit.billing.actions`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.billing import action_params as params_
from remit.billing.action_common import Target, account_customer, package_of, price_of, resolve
from remit.billing.action_runner import ActionRequest, ActionResult, InvalidActionRequest, perform
from remit.db.tables import accounts
from remit.processor.base import Processor, StripeObject
from remit.provisioning.handoff import ACCOUNT_KEY, PACKAGE_KEY
from remit.provisioning.jobs_table import ensure_account
from remit.provisioning.states import AccountStatus

CHECKOUT_MODES = ("subscription", "payment")


async def create_checkout_session(
    target: Target,
    *,
    account_id: str,
    package: str,
    idempotency_key: str,
    success_url: str,
    cancel_url: str | None = None,
    mode: str = "subscription",
    customer: str | None = None,
    customer_email: str | None = None,
    quantity: int | None = None,
    trial_period_days: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ActionResult:
    """A hosted checkout for ``account_id`` buying ``package``: its metadata (and, in subscription mode, the
    subscription's) carries the account id and the package slug as :mod:`remit.provisioning.handoff` reads
    them, so the paid checkout provisions that account with that package. The account is recorded ``pending``
    (with the package and its quota) if remit does not know it yet; its customer, if it has one, is the
    session's. An unknown package is refused before anything is called. ``extra`` passes further Stripe
    parameters through unchanged. The answer's ``url`` is where to send the customer."""
    runtime, conn = resolve(target)
    key = params_.check_key(idempotency_key)
    account = params_.text(account_id, "account_id", required=True, limit=255)
    assert account is not None
    chosen = package_of(runtime, package)
    if mode not in CHECKOUT_MODES:
        raise InvalidActionRequest(f"mode must be one of {', '.join(CHECKOUT_MODES)}", param="mode")
    if extra is not None and not isinstance(extra, Mapping):
        raise InvalidActionRequest("extra must be an object", param="extra")
    given_customer = params_.text(customer, "customer", limit=255)
    params: dict[str, Any] = {
        "account_id": account,
        "package": chosen.slug,
        "success_url": params_.url(success_url, "success_url", required=True),
        "cancel_url": params_.url(cancel_url, "cancel_url"),
        "mode": mode,
        "customer": given_customer,
        "customer_email": params_.text(customer_email, "customer_email", limit=512),
        "quantity": params_.positive(quantity, "quantity"),
        "trial_period_days": params_.positive(trial_period_days, "trial_period_days"),
        "extra": dict(extra) if extra else None,
    }
    if params["trial_period_days"] and mode != "subscription":
        raise InvalidActionRequest("trial_period_days needs mode subscription", param="trial_period_days")
    customer_id = given_customer or await account_customer(runtime, conn, account)
    request = ActionRequest("create_checkout_session", key, params, account_id=account, customer_id=customer_id)
    metadata = {ACCOUNT_KEY: account, PACKAGE_KEY: chosen.slug}

    async def call(processor: Processor) -> StripeObject:
        price = await price_of(processor, chosen)
        passthrough: dict[str, Any] = dict(params["extra"] or {})
        if mode == "subscription":
            sub_data: dict[str, Any] = {"metadata": dict(metadata)}
            if params["trial_period_days"]:
                sub_data["trial_period_days"] = params["trial_period_days"]
            passthrough.setdefault("subscription_data", sub_data)
        return await processor.create_checkout_session(
            idempotency_key=key,
            mode=mode,
            success_url=str(params["success_url"]),
            cancel_url=params["cancel_url"],
            line_items=[{"price": price, "quantity": params["quantity"] or 1}],
            customer=customer_id,
            customer_email=None if customer_id else params["customer_email"],
            client_reference_id=account,
            metadata=metadata,
            extra=passthrough or None,
        )

    async def record(tx: AsyncConnection, obj: StripeObject) -> None:
        now = runtime.clock.now()
        await ensure_account(
            tx, account, customer_id=customer_id, package_slug=chosen.slug, tokens_quota=chosen.tokens_quota, now=now
        )
        # An account still pending is buying what its newest checkout sells; a provisioned one keeps its own.
        await tx.execute(
            sa.update(accounts)
            .where(accounts.c.id == account, accounts.c.status == AccountStatus.PENDING.value)
            .values(
                package_slug=chosen.slug,
                tokens_quota=chosen.tokens_quota,
                customer_id=sa.func.coalesce(accounts.c.customer_id, customer_id),
                updated_at=now,
            )
        )

    return await perform(runtime, conn, request, call, record)


async def create_portal_session(
    target: Target,
    *,
    idempotency_key: str,
    return_url: str,
    customer: str | None = None,
    account_id: str | None = None,
) -> ActionResult:
    """A billing-portal session for ``customer`` (or ``account_id``'s customer); its ``url`` is where to send
    them."""
    runtime, conn = resolve(target)
    key = params_.check_key(idempotency_key)
    account = params_.text(account_id, "account_id", limit=255)
    customer_id = params_.text(customer, "customer", limit=255)
    if customer_id is None and account is not None:
        customer_id = await account_customer(runtime, conn, account)
        if customer_id is None:
            raise InvalidActionRequest(
                "the account has no processor customer yet", param="account_id", code="account_without_customer"
            )
    if customer_id is None:
        raise InvalidActionRequest("customer (or account_id) is required", param="customer", code="parameter_missing")
    back = params_.url(return_url, "return_url", required=True)
    assert back is not None
    params = {"customer": customer_id, "return_url": back, "account_id": account}
    request = ActionRequest("create_portal_session", key, params, account_id=account, customer_id=customer_id)

    async def call(processor: Processor) -> StripeObject:
        return await processor.create_billing_portal_session(customer=customer_id, return_url=back, idempotency_key=key)

    return await perform(runtime, conn, request, call)


__all__ = ["CHECKOUT_MODES", "create_checkout_session", "create_portal_session"]
