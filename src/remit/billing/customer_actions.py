"""Billing actions on customers: create one (an account's, with ``account_id``), update one. See
:mod:`remit.billing.actions`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from remit.billing import action_params as params_
from remit.billing.action_common import Target, link_customer, resolve
from remit.billing.action_runner import ActionRequest, ActionResult, perform
from remit.processor.base import Processor, StripeObject
from remit.provisioning.handoff import ACCOUNT_KEY


async def create_customer(
    target: Target,
    *,
    idempotency_key: str,
    email: str | None = None,
    name: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, str] | None = None,
    payment_method: str | None = None,
    account_id: str | None = None,
) -> ActionResult:
    """Create a processor customer. With ``account_id``, the customer carries it in its metadata (as a
    checkout's does) and becomes the account's customer (the account is made ``pending`` if remit does not
    know it yet)."""
    runtime, conn = resolve(target)
    key = params_.check_key(idempotency_key)
    account = params_.text(account_id, "account_id", limit=255)
    meta = params_.metadata(metadata) or {}
    if account:
        meta[ACCOUNT_KEY] = account
    params: dict[str, Any] = {
        "email": params_.text(email, "email", limit=512),
        "name": params_.text(name, "name", limit=256),
        "description": params_.text(description, "description"),
        "metadata": meta or None,
        "payment_method": params_.text(payment_method, "payment_method", limit=255),
    }
    request = ActionRequest("create_customer", key, params, account_id=account)

    async def call(processor: Processor) -> StripeObject:
        return await processor.create_customer(
            idempotency_key=key,
            email=params["email"],
            name=params["name"],
            description=params["description"],
            metadata=params["metadata"],
            payment_method=params["payment_method"],
        )

    async def record(tx: AsyncConnection, obj: StripeObject) -> None:
        if account:
            await link_customer(tx, account, str(obj["id"]), runtime.clock.now())

    return await perform(runtime, conn, request, call, record)


async def update_customer(
    target: Target,
    customer_id: str,
    *,
    idempotency_key: str,
    email: str | None = None,
    name: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, str] | None = None,
    default_payment_method: str | None = None,
) -> ActionResult:
    """Update the given fields of a customer (metadata merges, as in Stripe)."""
    runtime, conn = resolve(target)
    key = params_.check_key(idempotency_key)
    customer = params_.text(customer_id, "customer", required=True, limit=255)
    assert customer is not None
    params: dict[str, Any] = {
        "customer": customer,
        "email": params_.text(email, "email", limit=512),
        "name": params_.text(name, "name", limit=256),
        "description": params_.text(description, "description"),
        "metadata": params_.metadata(metadata),
        "default_payment_method": params_.text(default_payment_method, "default_payment_method", limit=255),
    }
    request = ActionRequest("update_customer", key, params, customer_id=customer)

    async def call(processor: Processor) -> StripeObject:
        return await processor.update_customer(
            customer,
            idempotency_key=key,
            email=params["email"],
            name=params["name"],
            description=params["description"],
            metadata=params["metadata"],
            default_payment_method=params["default_payment_method"],
        )

    return await perform(runtime, conn, request, call)


__all__ = ["create_customer", "update_customer"]
