"""Billing actions: the write side — customers, checkout and portal sessions, subscriptions — once per key.

::

    from remit import billing

    session = await billing.create_checkout_session(
        runtime, account_id="acct_42", package="pro", idempotency_key="signup-acct_42",
        success_url="https://app.example.com/welcome", cancel_url="https://app.example.com/pricing",
    )
    redirect_to(session.url)          # the URL goes back to the caller, and nowhere else

    async with runtime.db.begin() as conn:          # or in the host's own transaction
        await conn.execute(tenants.insert().values(id="acct_43"))
        await billing.create_customer(conn, idempotency_key="customer-acct_43", account_id="acct_43")

Every action takes an ``idempotency_key``. The first call with a key claims it in ``remit_billing_actions``,
calls the processor with the same key, and records the answer (or the processor's refusal) under it; a repeat
— sequential or concurrent, from this process or another — answers that first outcome (``replayed=True``)
and makes no processor call. A repeat that arrives while the first call is still at the processor waits for
it (up to :data:`~remit.billing.action_runner.WAIT_S`) instead of calling again; a first call that died
between the processor's answer and recording it is taken over after
:data:`~remit.billing.action_runner.LEASE_S` and re-asks the processor with the same key, which
answers its first result. A failure a retry may not meet (the processor unreachable, throttled, a 5xx) gives
the key back: calling again with it is the retry. Reusing a key for another request is refused
(:class:`IdempotencyKeyReused`). A session's key repeated after the session expired (24 h on) is refused
(:class:`SessionExpired`), and outcomes are deleted after ``REMIT_BILLING_ACTION_RETENTION_DAYS``
(:mod:`remit.billing.action_retention`).

The first argument is where the action runs (:data:`Target`): the runtime (or one of its connections outside
a transaction), and each action commits its own short transactions, with no transaction open while the
processor is called; or one of the runtime's connections in the caller's open transaction (found as
:func:`~remit.runtime.runtime_of` finds it, as ``report_usage`` and ``request_mail`` do), and the action
writes its rows there — the key's
outcome, the pending account a checkout pays for, the account's customer — so they commit (or roll back) with
the caller's own rows; the processor is called while that transaction is open. The fake processor then joins
that transaction (its objects roll back with it; its events are delivered after commit), since on SQLite a
transaction of its own would wait for the caller's write lock. If the caller rolls back after the processor
answered, a repeat with the key calls the processor again with the same key, and the processor answers its
first result.

Each action is a span (:mod:`remit.telemetry.spans`, ``billing.action``: ``action``, ``operation_id`` — the
idempotency key —, ``customer_id``, ``account_id``, ``object_id``, ``processor``, ``replayed``, ``outcome``)
timed in ``remit_billing_action_duration_seconds``. Session URLs and client secrets are in the returned
:class:`ActionResult` and in the key's stored outcome only: never in a log line, a span, an ops event or an
error message (an :class:`ActionResult`'s ``repr`` leaves the object out).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.billing import action_params as params_
from remit.billing.action_params import MAX_KEY_LENGTH
from remit.billing.action_runner import (
    ActionInProgress,
    ActionRefused,
    ActionRequest,
    ActionResult,
    BillingActionError,
    IdempotencyKeyReused,
    InvalidActionRequest,
    SessionExpired,
    perform,
)
from remit.billing.packages import Package, UnknownPackage, get_package, packages_for
from remit.db.tables import accounts
from remit.processor.base import Processor, StripeObject
from remit.processor.fake.processor import FakeProcessor
from remit.provisioning.handoff import ACCOUNT_KEY, PACKAGE_KEY
from remit.provisioning.jobs_table import ensure_account
from remit.provisioning.states import AccountStatus
from remit.runtime import Runtime, runtime_of

#: Where an action runs: a runtime (its own short transactions), or one of its connections — in an open
#: transaction (the action writes its rows there), or not (the action's own transactions, as with a runtime).
Target = Runtime | AsyncConnection


def resolve(target: Target) -> tuple[Runtime, AsyncConnection | None]:
    """The runtime of ``target`` and the caller's open transaction, if it is one (see :data:`Target`)."""
    if isinstance(target, Runtime):
        return target, None
    return runtime_of(target), (target if target.in_transaction() else None)


FAKE = "fake"
PRORATION_BEHAVIORS = ("create_prorations", "none", "always_invoice")
CHECKOUT_MODES = ("subscription", "payment")
#: The demo packages' prices in the fake processor's catalogue (``DEMO_PACKAGES`` declare none): monthly, in
#: cents, made once with fixed idempotency keys (the fake keeps keys for ever), so every run finds the same.
DEMO_PRICES = {"starter": 1500, "pro": 4900}
DEMO_PRICE_DEFAULT = 1000


# --- accounts -------------------------------------------------------------------------------------------


async def _link_customer(conn: AsyncConnection, account_id: str, customer_id: str, now: datetime) -> None:
    """The account's processor customer, unless it has one already (then it is left as it is)."""
    await ensure_account(conn, account_id, customer_id=customer_id, package_slug=None, tokens_quota=None, now=now)
    await conn.execute(
        sa.update(accounts)
        .where(accounts.c.id == account_id, accounts.c.customer_id.is_(None))
        .values(customer_id=customer_id, updated_at=now)
    )


async def _account_customer(runtime: Runtime, conn: AsyncConnection | None, account_id: str) -> str | None:
    stmt = sa.select(accounts.c.customer_id).where(accounts.c.id == account_id)
    if conn is not None:
        found = (await conn.execute(stmt)).scalar_one_or_none()
    else:
        async with runtime.db.connect() as own:
            found = (await own.execute(stmt)).scalar_one_or_none()
    return found if isinstance(found, str) else None


def _package(runtime: Runtime, slug: object) -> Package:
    name = params_.text(slug, "package", required=True, limit=64)
    assert name is not None
    try:
        return _sellable(runtime, get_package(packages_for(runtime.settings), name))
    except UnknownPackage as exc:
        raise InvalidActionRequest(str(exc), param="package", code="package_unknown") from None


def _sellable(runtime: Runtime, package: Package) -> Package:
    """``package``, unless it has no price and the processor is not the fake (nothing is called)."""
    if not package.price and runtime.processor.name != FAKE:
        raise InvalidActionRequest(
            f"package {package.slug!r} has no price: declare one in REMIT_PACKAGES",
            param="package",
            code="package_without_price",
        )
    return package


async def price_of(processor: Processor, package: Package) -> str:
    """The processor price ``package`` sells at: its configured ``price``; on the fake processor, a demo
    package without one gets its price in the fake's catalogue (made once, found again by its fixed keys)."""
    if package.price:
        return package.price
    if processor.name != FAKE:
        raise InvalidActionRequest(
            f"package {package.slug!r} has no price: declare one in REMIT_PACKAGES",
            param="package",
            code="package_without_price",
        )
    fake = cast(FakeProcessor, processor)
    product = await fake.create_product(name=package.name, idempotency_key=f"remit-demo-package-{package.slug}-product")
    price = await fake.create_price(
        product=product["id"],
        unit_amount=DEMO_PRICES.get(package.slug, DEMO_PRICE_DEFAULT),
        idempotency_key=f"remit-demo-package-{package.slug}-price",
        nickname=f"remit-{package.slug}-monthly",
    )
    return str(price["id"])


# --- customers ----------------------------------------------------------------------------------------------


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
            await _link_customer(tx, account, str(obj["id"]), runtime.clock.now())

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


# --- sessions -----------------------------------------------------------------------------------------------


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
    chosen = _package(runtime, package)
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
    customer_id = given_customer or await _account_customer(runtime, conn, account)
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
        customer_id = await _account_customer(runtime, conn, account)
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


# --- subscriptions ------------------------------------------------------------------------------------------


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
    chosen = _package(runtime, slug) if slug else None
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
            await _link_customer(tx, account, customer_id, runtime.clock.now())

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
    chosen = _package(runtime, slug) if slug else None
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
        target = chosen_price or (await price_of(processor, chosen) if chosen else None)
        return await processor.update_subscription(
            subscription,
            idempotency_key=key,
            price=target,
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


ACTIONS = (
    "create_customer",
    "update_customer",
    "create_checkout_session",
    "create_portal_session",
    "subscribe",
    "change_plan",
    "cancel_subscription",
    "resume_subscription",
)

__all__ = [
    "ACTIONS",
    "MAX_KEY_LENGTH",
    "ActionInProgress",
    "ActionRefused",
    "ActionResult",
    "BillingActionError",
    "IdempotencyKeyReused",
    "InvalidActionRequest",
    "SessionExpired",
    "Target",
    "cancel_subscription",
    "change_plan",
    "create_checkout_session",
    "create_customer",
    "create_portal_session",
    "price_of",
    "resolve",
    "resume_subscription",
    "subscribe",
    "update_customer",
]
