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
the caller's own rows; the processor is called while that transaction is open (with Stripe up to its timeout;
on SQLite that holds the database's only write lock meanwhile: see docs/billing.md). The fake processor then joins
that transaction (its objects roll back with it; its events are delivered after commit), since on SQLite a
transaction of its own would wait for the caller's write lock. If the caller rolls back after the processor
answered, a repeat with the key calls the processor again with the same key, and the processor answers its
first result.

Each action is a span (:mod:`remit.telemetry.spans`, ``billing.action``: ``action``, ``operation_id`` — the
idempotency key —, ``customer_id``, ``account_id``, ``object_id``, ``processor``, ``replayed``, ``outcome``)
timed in ``remit_billing_action_duration_seconds``. Session URLs and client secrets are in the returned
:class:`ActionResult` and in the key's stored outcome only: never in a log line, a span, an ops event or an
error message (an :class:`ActionResult`'s ``repr`` leaves the object out).

The actions live by concept — :mod:`~remit.billing.customer_actions`, :mod:`~remit.billing.session_actions`,
:mod:`~remit.billing.subscription_actions`, with what they share in :mod:`~remit.billing.action_common` — and
this module is their one public face.
"""

from __future__ import annotations

from remit.billing.action_common import Target, price_of, resolve
from remit.billing.action_params import MAX_KEY_LENGTH
from remit.billing.action_runner import (
    ActionInProgress,
    ActionRefused,
    ActionResult,
    BillingActionError,
    IdempotencyKeyReused,
    InvalidActionRequest,
    SessionExpired,
)
from remit.billing.customer_actions import create_customer, update_customer
from remit.billing.session_actions import CHECKOUT_MODES, create_checkout_session, create_portal_session
from remit.billing.subscription_actions import (
    PRORATION_BEHAVIORS,
    cancel_subscription,
    change_plan,
    resume_subscription,
    subscribe,
)

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
    "CHECKOUT_MODES",
    "MAX_KEY_LENGTH",
    "PRORATION_BEHAVIORS",
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
