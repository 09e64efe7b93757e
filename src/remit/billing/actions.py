"""Billing actions: the write side — customers, checkout and portal sessions, subscriptions — once per key.

::

    from remit import billing

    session = await billing.create_checkout_session(
        runtime, None, account_id="acct_42", package="pro", idempotency_key="signup-acct_42",
        success_url="https://app.example.com/welcome", cancel_url="https://app.example.com/pricing",
    )
    redirect_to(session.url)          # the URL goes back to the caller, and nowhere else

Every action takes an ``idempotency_key``. The first call with a key claims it in ``remit_billing_actions``,
calls the processor with the same key, and records the answer (or the processor's refusal) under it; a repeat
— sequential or concurrent, from this process or another — answers that first outcome (``replayed=True``)
and makes no processor call. A repeat that arrives while the first call is still at the processor waits for
it (up to :data:`WAIT_S`) instead of calling again; a first call that died between the processor's answer
and recording it is taken over after :data:`LEASE_S` and re-asks the processor with the same key, which
answers its first result. A failure a retry may not meet (the processor unreachable, throttled, a 5xx) gives
the key back: calling again with it is the retry. Reusing a key for another request is refused
(:class:`IdempotencyKeyReused`).

``conn``: pass ``None`` and each action commits its own short transactions, with no transaction open while
the processor is called. Pass the caller's open transaction and the action writes its rows there — the key's
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

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.billing import action_store
from remit.billing.action_store import ActionRecord, ActionStatus
from remit.billing.packages import Package, UnknownPackage, get_package, packages_for
from remit.db.tables import accounts
from remit.errors import ProcessorError, RemitError
from remit.processor.base import Processor, StripeObject
from remit.processor.fake.processor import FakeProcessor
from remit.processor.faults import Fault, classify
from remit.provisioning.handoff import ACCOUNT_KEY, PACKAGE_KEY
from remit.provisioning.jobs_table import ensure_account
from remit.provisioning.states import AccountStatus
from remit.runtime import Runtime
from remit.telemetry import metrics
from remit.telemetry.spans import Span, span

log = logging.getLogger("remit.billing")

SPAN = "billing.action"
FAKE = "fake"
#: How long a repeat waits for the first call with its key, still at the processor, before
#: :class:`ActionInProgress`.
WAIT_S = 10.0
POLL_S = 0.05
#: A claim older than this is a caller that died mid-call: a repeat takes it over.
LEASE_S = 120.0
MAX_KEY_LENGTH = 255
PRORATION_BEHAVIORS = ("create_prorations", "none", "always_invoice")
CHECKOUT_MODES = ("subscription", "payment")
#: The demo packages' prices in the fake processor's catalogue (``DEMO_PACKAGES`` declare none): monthly, in
#: cents, made once with fixed idempotency keys (the fake keeps keys for ever), so every run finds the same.
DEMO_PRICES = {"starter": 1500, "pro": 4900}
DEMO_PRICE_DEFAULT = 1000


class BillingActionError(RemitError):
    """A billing action refused. ``code`` is machine-readable, ``param`` the argument at fault (a name, never
    a value), ``status`` the HTTP status the internal API answers with."""

    status = 400
    code = "invalid_request"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.param = param
        if code is not None:
            self.code = code


class InvalidActionRequest(BillingActionError):
    """An argument is missing or malformed (nothing was called or written)."""

    code = "parameter_invalid"


class IdempotencyKeyReused(BillingActionError):
    """The key was used before for another action or other arguments."""

    code = "idempotency_key_reused"


class ActionInProgress(BillingActionError):
    """The first call with this key is still at the processor; retry later with the same key."""

    status = 409
    code = "idempotency_key_in_use"


class ActionRefused(BillingActionError):
    """The processor refused the action (a 4xx: a missing customer, a declined card …). It is the key's stored
    outcome: a repeat raises it again without calling."""

    def __init__(self, action: str, error: Mapping[str, Any]) -> None:
        status = int(error.get("status") or 400)
        code = str(error.get("code") or "processor_refused")
        super().__init__(f"{action}: the processor refused it ({status} {code})", param=error.get("param"), code=code)
        self.status = status
        self.processor_status = status


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action answered: the processor's ``object`` (for sessions, with ``url`` and any client secret:
    the caller's to use and to keep out of logs), and ``replayed`` when this was a repeat of its key."""

    action: str
    idempotency_key: str
    object: StripeObject = field(repr=False)
    replayed: bool

    @property
    def id(self) -> str | None:
        value = self.object.get("id")
        return value if isinstance(value, str) else None

    @property
    def url(self) -> str | None:
        """A checkout or portal session's URL: send the customer there."""
        value = self.object.get("url")
        return value if isinstance(value, str) else None

    def to_json(self) -> dict[str, Any]:
        return dict(self.object)


# --- the one path every action takes ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Request:
    action: str
    key: str
    params: dict[str, Any]
    account_id: str | None = None
    customer_id: str | None = None


Call = Callable[[Processor], Awaitable[StripeObject]]
Record = Callable[[AsyncConnection, StripeObject], Awaitable[None]]


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not key.strip():
        raise InvalidActionRequest("idempotency_key is required", param="idempotency_key", code="parameter_missing")
    if len(key) > MAX_KEY_LENGTH or not _storable(key):
        raise InvalidActionRequest(
            f"idempotency_key must be at most {MAX_KEY_LENGTH} characters, without NUL", param="idempotency_key"
        )
    return key


def _customer_of(obj: Mapping[str, Any], action: str) -> str | None:
    if action in ("create_customer", "update_customer"):
        value = obj.get("id")
    else:
        value = obj.get("customer")
        if isinstance(value, Mapping):
            value = value.get("id")
    return value if isinstance(value, str) else None


def _refusal(error: ProcessorError) -> dict[str, Any]:
    return {"status": error.status_code, "code": error.code, "param": error.param}


def _joining(processor: Processor, conn: AsyncConnection | None) -> AbstractContextManager[None]:
    if conn is not None and isinstance(processor, FakeProcessor):
        return processor.engine.joining(conn)
    return nullcontext()


def _answer(request: _Request, record: ActionRecord, current: Span) -> ActionResult:
    """The stored outcome of ``record`` for a repeat (or a caller whose claim another finished)."""
    if record.action != request.action or record.fingerprint != action_store.fingerprint(
        request.action, request.params
    ):
        current.set(outcome="refused", code=IdempotencyKeyReused.code)
        raise IdempotencyKeyReused(
            f"idempotency_key was used for another request ({record.action}); use a new key for this one",
            param="idempotency_key",
        )
    current.set(customer_id=record.customer_id, object_id=record.object_id, replayed=True)
    if record.status is ActionStatus.FAILED:
        current.set(outcome="refused", code=(record.error or {}).get("code"))
        raise ActionRefused(request.action, record.error or {})
    assert record.result is not None
    current.set(outcome="replayed")
    return ActionResult(request.action, request.key, dict(record.result), replayed=True)


@asynccontextmanager
async def _transaction(runtime: Runtime, conn: AsyncConnection | None) -> AsyncIterator[AsyncConnection]:
    if conn is not None:
        yield conn
        return
    async with runtime.db.begin() as own:
        yield own


async def _claim(
    runtime: Runtime, conn: AsyncConnection | None, request: _Request, current: Span
) -> ActionRecord | ActionResult:
    """This call's claim on the key, or the stored outcome a repeat answers."""
    print_ = action_store.fingerprint(request.action, request.params)
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while True:
        now = runtime.clock.now()
        async with _transaction(runtime, conn) as tx:
            mine = await action_store.claim(
                tx,
                request.key,
                action=request.action,
                print_=print_,
                processor=runtime.processor.name,
                account_id=request.account_id,
                customer_id=request.customer_id,
                now=now,
            )
            if mine is not None:
                return mine
            found = await action_store.get(tx, request.key)
            if found is None:  # given back between our insert and our read: claim again
                continue
            if found.status is not ActionStatus.RUNNING:
                return _answer(request, found, current)
            if found.action != request.action or found.fingerprint != print_:
                return _answer(request, found, current)  # raises IdempotencyKeyReused
            if found.claimed_at <= now - timedelta(seconds=LEASE_S):
                taken = await action_store.take_over(tx, found, now)
                if taken is not None:
                    return taken
                continue
        # The first call is at the processor. Inside the caller's transaction we must not wait: on SQLite it
        # holds the write lock the first call needs to record its outcome.
        if conn is not None or asyncio.get_running_loop().time() >= deadline:
            current.set(outcome="refused", code=ActionInProgress.code)
            raise ActionInProgress(
                "a call with this idempotency_key is still in progress; retry with the same key",
                param="idempotency_key",
            )
        await asyncio.sleep(POLL_S)


async def _perform(
    runtime: Runtime, conn: AsyncConnection | None, request: _Request, call: Call, record: Record | None = None
) -> ActionResult:
    processor = runtime.processor
    started = asyncio.get_running_loop().time()
    outcome = "failed"
    try:
        async with span(
            SPAN,
            action=request.action,
            operation_id=request.key,
            processor=processor.name,
            account_id=request.account_id,
            customer_id=request.customer_id,
        ) as current:
            claimed = await _claim(runtime, conn, request, current)
            if isinstance(claimed, ActionResult):
                outcome = "replayed"
                return claimed
            try:
                with _joining(processor, conn):
                    obj = await call(processor)
            except asyncio.CancelledError:
                raise  # the claim stays; its lease lets a repeat take it over
            except ProcessorError as error:
                current.set(code=error.code, status=error.status_code)
                refused = classify(error) is Fault.REFUSED
                stored = _refusal(error)
                async with _transaction(runtime, conn) as tx:
                    if refused:
                        refused = await action_store.finish(tx, claimed, now=runtime.clock.now(), error=stored)
                    else:
                        await action_store.release(tx, claimed)
                if refused:
                    current.set(outcome="refused")
                    raise ActionRefused(request.action, stored) from None
                raise
            except Exception:
                async with _transaction(runtime, conn) as tx:
                    await action_store.release(tx, claimed)
                raise
            customer = _customer_of(obj, request.action) or request.customer_id
            object_id = obj.get("id") if isinstance(obj.get("id"), str) else None
            current.set(customer_id=customer, object_id=object_id)
            async with _transaction(runtime, conn) as tx:
                finished = await action_store.finish(
                    tx, claimed, now=runtime.clock.now(), result=obj, customer_id=customer, object_id=object_id
                )
                if not finished:  # another caller took the claim over and recorded the same outcome
                    again = await action_store.get(tx, request.key)
                    assert again is not None
                    outcome = "replayed"
                    return _answer(request, again, current)
                if record is not None:
                    await record(tx, obj)
            outcome = "created"
            current.set(outcome=outcome, replayed=False)
            return ActionResult(request.action, request.key, obj, replayed=False)
    except BillingActionError:
        outcome = "refused"
        raise
    finally:
        elapsed = asyncio.get_running_loop().time() - started
        metrics.billing_action_duration_seconds.labels(
            action=request.action, processor=processor.name, outcome=outcome
        ).observe(elapsed)


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


# --- argument checks (nothing is called or written when one fails) -----------------------------------------


def _text(value: object, param: str, *, required: bool = False, limit: int = 5000) -> str | None:
    if value is None:
        if required:
            raise InvalidActionRequest(f"{param} is required", param=param, code="parameter_missing")
        return None
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit or not _storable(value):
        raise InvalidActionRequest(f"{param} must be a non-empty string of at most {limit} characters", param=param)
    return value


def _storable(text: str) -> bool:
    """No NUL (PostgreSQL's text cannot hold one) and no lone surrogate (no encoding can)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _url(value: object, param: str, *, required: bool = False) -> str | None:
    text = _text(value, param, required=required, limit=2048)
    if text is not None and not text.startswith(("https://", "http://")):
        raise InvalidActionRequest(f"{param} must be an http(s) URL", param=param, code="url_invalid")
    return text


def _metadata(value: object, param: str = "metadata") -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or len(value) > 50:
        raise InvalidActionRequest(f"{param} must be an object of at most 50 string values", param=param)
    for key, item in value.items():
        if (
            not isinstance(key, str)
            or not 0 < len(key) <= 40
            or not isinstance(item, str)
            or len(item) > 500
            or not (_storable(key) and _storable(item))
        ):
            raise InvalidActionRequest(
                f"{param} keys must be 1-40 characters and values strings of at most 500", param=param
            )
    return dict(value)


def _positive(value: object, param: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 1_000_000:
        raise InvalidActionRequest(f"{param} must be a whole number from 1 to 1000000", param=param)
    return value


def _package(runtime: Runtime, slug: object) -> Package:
    name = _text(slug, "package", required=True, limit=64)
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
    runtime: Runtime,
    conn: AsyncConnection | None = None,
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
    key = _check_key(idempotency_key)
    account = _text(account_id, "account_id", limit=255)
    meta = _metadata(metadata) or {}
    if account:
        meta[ACCOUNT_KEY] = account
    params: dict[str, Any] = {
        "email": _text(email, "email", limit=512),
        "name": _text(name, "name", limit=256),
        "description": _text(description, "description"),
        "metadata": meta or None,
        "payment_method": _text(payment_method, "payment_method", limit=255),
    }
    request = _Request("create_customer", key, params, account_id=account)

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

    return await _perform(runtime, conn, request, call, record)


async def update_customer(
    runtime: Runtime,
    conn: AsyncConnection | None = None,
    customer_id: str = "",
    *,
    idempotency_key: str,
    email: str | None = None,
    name: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, str] | None = None,
    default_payment_method: str | None = None,
) -> ActionResult:
    """Update the given fields of a customer (metadata merges, as in Stripe)."""
    key = _check_key(idempotency_key)
    customer = _text(customer_id, "customer", required=True, limit=255)
    assert customer is not None
    params: dict[str, Any] = {
        "customer": customer,
        "email": _text(email, "email", limit=512),
        "name": _text(name, "name", limit=256),
        "description": _text(description, "description"),
        "metadata": _metadata(metadata),
        "default_payment_method": _text(default_payment_method, "default_payment_method", limit=255),
    }
    request = _Request("update_customer", key, params, customer_id=customer)

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

    return await _perform(runtime, conn, request, call)


# --- sessions -----------------------------------------------------------------------------------------------


async def create_checkout_session(
    runtime: Runtime,
    conn: AsyncConnection | None = None,
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
    key = _check_key(idempotency_key)
    account = _text(account_id, "account_id", required=True, limit=255)
    assert account is not None
    chosen = _package(runtime, package)
    if mode not in CHECKOUT_MODES:
        raise InvalidActionRequest(f"mode must be one of {', '.join(CHECKOUT_MODES)}", param="mode")
    if extra is not None and not isinstance(extra, Mapping):
        raise InvalidActionRequest("extra must be an object", param="extra")
    given_customer = _text(customer, "customer", limit=255)
    params: dict[str, Any] = {
        "account_id": account,
        "package": chosen.slug,
        "success_url": _url(success_url, "success_url", required=True),
        "cancel_url": _url(cancel_url, "cancel_url"),
        "mode": mode,
        "customer": given_customer,
        "customer_email": _text(customer_email, "customer_email", limit=512),
        "quantity": _positive(quantity, "quantity"),
        "trial_period_days": _positive(trial_period_days, "trial_period_days"),
        "extra": dict(extra) if extra else None,
    }
    if params["trial_period_days"] and mode != "subscription":
        raise InvalidActionRequest("trial_period_days needs mode subscription", param="trial_period_days")
    customer_id = given_customer or await _account_customer(runtime, conn, account)
    request = _Request("create_checkout_session", key, params, account_id=account, customer_id=customer_id)
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

    return await _perform(runtime, conn, request, call, record)


async def create_portal_session(
    runtime: Runtime,
    conn: AsyncConnection | None = None,
    *,
    idempotency_key: str,
    return_url: str,
    customer: str | None = None,
    account_id: str | None = None,
) -> ActionResult:
    """A billing-portal session for ``customer`` (or ``account_id``'s customer); its ``url`` is where to send
    them."""
    key = _check_key(idempotency_key)
    account = _text(account_id, "account_id", limit=255)
    customer_id = _text(customer, "customer", limit=255)
    if customer_id is None and account is not None:
        customer_id = await _account_customer(runtime, conn, account)
        if customer_id is None:
            raise InvalidActionRequest(
                "the account has no processor customer yet", param="account_id", code="account_without_customer"
            )
    if customer_id is None:
        raise InvalidActionRequest("customer (or account_id) is required", param="customer", code="parameter_missing")
    back = _url(return_url, "return_url", required=True)
    assert back is not None
    params = {"customer": customer_id, "return_url": back, "account_id": account}
    request = _Request("create_portal_session", key, params, account_id=account, customer_id=customer_id)

    async def call(processor: Processor) -> StripeObject:
        return await processor.create_billing_portal_session(customer=customer_id, return_url=back, idempotency_key=key)

    return await _perform(runtime, conn, request, call)


# --- subscriptions ------------------------------------------------------------------------------------------


def _price_or_package(price: object, package: object, *, required: bool) -> tuple[str | None, str | None]:
    chosen_price = _text(price, "price", limit=255)
    chosen_package = _text(package, "package", limit=64)
    if chosen_price and chosen_package:
        raise InvalidActionRequest("give price or package, not both", param="price")
    if required and not chosen_price and not chosen_package:
        raise InvalidActionRequest("price or package is required", param="package", code="parameter_missing")
    return chosen_price, chosen_package


async def subscribe(
    runtime: Runtime,
    conn: AsyncConnection | None = None,
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
    key = _check_key(idempotency_key)
    customer_id = _text(customer, "customer", required=True, limit=255)
    assert customer_id is not None
    chosen_price, slug = _price_or_package(price, package, required=True)
    chosen = _package(runtime, slug) if slug else None
    account = _text(account_id, "account_id", limit=255)
    meta = _metadata(metadata) or {}
    if account:
        meta[ACCOUNT_KEY] = account
    if chosen:
        meta[PACKAGE_KEY] = chosen.slug
    params: dict[str, Any] = {
        "customer": customer_id,
        "price": chosen_price,
        "package": chosen.slug if chosen else None,
        "quantity": _positive(quantity, "quantity"),
        "trial_period_days": _positive(trial_period_days, "trial_period_days"),
        "default_payment_method": _text(default_payment_method, "default_payment_method", limit=255),
        "metadata": meta or None,
    }
    request = _Request("subscribe", key, params, account_id=account, customer_id=customer_id)

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

    return await _perform(runtime, conn, request, call, record)


async def change_plan(
    runtime: Runtime,
    conn: AsyncConnection | None = None,
    subscription_id: str = "",
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
    key = _check_key(idempotency_key)
    subscription = _text(subscription_id, "subscription", required=True, limit=255)
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
        "quantity": _positive(quantity, "quantity"),
        "proration_behavior": proration_behavior,
    }
    request = _Request("change_plan", key, params)

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

    return await _perform(runtime, conn, request, call)


async def cancel_subscription(
    runtime: Runtime,
    conn: AsyncConnection | None = None,
    subscription_id: str = "",
    *,
    idempotency_key: str,
    at_period_end: bool = False,
) -> ActionResult:
    """End the subscription now, or at the end of its period (``at_period_end``)."""
    key = _check_key(idempotency_key)
    subscription = _text(subscription_id, "subscription", required=True, limit=255)
    assert subscription is not None
    if not isinstance(at_period_end, bool):
        raise InvalidActionRequest("at_period_end must be true or false", param="at_period_end")
    request = _Request("cancel_subscription", key, {"subscription": subscription, "at_period_end": at_period_end})

    async def call(processor: Processor) -> StripeObject:
        return await processor.cancel_subscription(subscription, idempotency_key=key, at_period_end=at_period_end)

    return await _perform(runtime, conn, request, call)


async def resume_subscription(
    runtime: Runtime,
    conn: AsyncConnection | None = None,
    subscription_id: str = "",
    *,
    idempotency_key: str,
) -> ActionResult:
    """Undo a cancel at period end, or resume a paused subscription."""
    key = _check_key(idempotency_key)
    subscription = _text(subscription_id, "subscription", required=True, limit=255)
    assert subscription is not None
    request = _Request("resume_subscription", key, {"subscription": subscription})

    async def call(processor: Processor) -> StripeObject:
        return await processor.resume_subscription(subscription, idempotency_key=key)

    return await _perform(runtime, conn, request, call)


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
    "ActionInProgress",
    "ActionRefused",
    "ActionResult",
    "BillingActionError",
    "IdempotencyKeyReused",
    "InvalidActionRequest",
    "cancel_subscription",
    "change_plan",
    "create_checkout_session",
    "create_customer",
    "create_portal_session",
    "price_of",
    "resume_subscription",
    "subscribe",
    "update_customer",
]
