"""The :class:`Processor` protocol: everything remit asks of a payment processor.

Two implementations stand behind it: :class:`remit.processor.fake.FakeProcessor` (the embedded default and the
test double) and :class:`remit.processor.stripe.StripeProcessor` (the official ``stripe`` package). Callers
never learn which one they hold:

- every method is async and returns plain ``dict``\\ s in Stripe's own JSON shapes (a list is
  ``{"object": "list", "data": [...], "has_more": ...}``), so the billing mirror projects one format;
- every mutating method takes a keyword-only ``idempotency_key``: a retry with the same key converges on the
  first result and makes the processor emit nothing new, which is what lets the job engine retry freely;
- every failure is a :class:`remit.errors.ProcessorError` with ``status_code`` (``None`` when nothing answered:
  a timeout or a refused connection), ``retry_after`` (seconds, from ``Retry-After``) and Stripe's ``code``.

Parameters are named as in Stripe's API; ``extra`` passes any further Stripe parameter through unchanged
(nested dicts and lists as the SDK takes them), so a caller is never blocked on this protocol growing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

#: The Stripe API version remit speaks: the live adapter pins every call to it, the fake processor keeps its world
#: and emits its events in its shapes, and remit's fixtures and webhook endpoints are in it. One shape of every
#: object and event, whichever processor runs.
API_VERSION = "2020-08-27"

StripeObject = dict[str, Any]
"""One object in Stripe's JSON shape (``{"id": ..., "object": ..., ...}``)."""

Metadata = Mapping[str, str]


@runtime_checkable
class Processor(Protocol):
    """A payment processor as remit uses it. ``name`` is ``fake`` or ``stripe``."""

    name: str

    async def ping(self) -> None:
        """Raise :class:`~remit.errors.ProcessorError` unless the processor answers (health checks)."""
        ...

    async def close(self) -> None:
        """Release connections; the processor is not used afterwards."""
        ...

    def joining(self, conn: AsyncConnection) -> AbstractContextManager[None]:
        """Within the block, calls run in ``conn``'s open transaction where the processor keeps its world in
        remit's database (the fake: its objects commit or roll back with the caller's rows, its events are
        delivered after the commit); elsewhere nothing changes (Stripe). For callers that call the processor
        inside their own transaction (:mod:`remit.billing.actions`)."""
        ...

    async def package_price(self, *, slug: str, name: str) -> str | None:
        """The price a package that declares none sells at: the fake's demo catalogue makes one (once, found
        again by fixed idempotency keys); Stripe has none (None, and no request)."""
        ...

    # customers ---------------------------------------------------------------------------------------------
    async def create_customer(
        self,
        *,
        idempotency_key: str,
        email: str | None = None,
        name: str | None = None,
        description: str | None = None,
        metadata: Metadata | None = None,
        payment_method: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> StripeObject:
        """Create a customer; ``payment_method`` is attached and made the invoice default."""
        ...

    async def update_customer(
        self,
        customer_id: str,
        *,
        idempotency_key: str,
        email: str | None = None,
        name: str | None = None,
        description: str | None = None,
        metadata: Metadata | None = None,
        default_payment_method: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> StripeObject:
        """Update the given fields only (metadata merges, as in Stripe)."""
        ...

    async def retrieve_customer(self, customer_id: str) -> StripeObject:
        """The customer, or ``{"id": ..., "object": "customer", "deleted": true}`` once deleted."""
        ...

    async def delete_customer(self, customer_id: str, *, idempotency_key: str) -> StripeObject:
        """Delete the customer (its subscriptions end at once); returns the deleted stub."""
        ...

    async def attach_payment_method(self, payment_method: str, *, customer: str, idempotency_key: str) -> StripeObject:
        """Attach a payment method (``pm_…`` or a test token such as ``pm_card_visa``) to a customer."""
        ...

    # subscriptions -----------------------------------------------------------------------------------------
    async def create_subscription(
        self,
        *,
        customer: str,
        items: Sequence[Mapping[str, Any]],
        idempotency_key: str,
        trial_period_days: int | None = None,
        default_payment_method: str | None = None,
        metadata: Metadata | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> StripeObject:
        """Subscribe ``customer`` to ``items`` (``[{"price": "price_…", "quantity": 1}]``); the first invoice is
        created and charged at once, as in Stripe."""
        ...

    async def update_subscription(
        self,
        subscription_id: str,
        *,
        idempotency_key: str,
        price: str | None = None,
        quantity: int | None = None,
        proration_behavior: str | None = None,
        metadata: Metadata | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> StripeObject:
        """Change the plan (``price`` replaces the first item's price) or quantity or metadata."""
        ...

    async def cancel_subscription(
        self, subscription_id: str, *, idempotency_key: str, at_period_end: bool = False
    ) -> StripeObject:
        """End the subscription now (``customer.subscription.deleted``) or at the end of the period."""
        ...

    async def resume_subscription(self, subscription_id: str, *, idempotency_key: str) -> StripeObject:
        """Undo a cancel-at-period-end, or resume a paused subscription."""
        ...

    async def retrieve_subscription(self, subscription_id: str) -> StripeObject: ...

    async def list_subscription_items(
        self,
        subscription_id: str,
        *,
        limit: int = 10,
        starting_after: str | None = None,
    ) -> StripeObject:
        """One page of a subscription's items (``GET /v1/subscription_items?subscription=…``), as a Stripe list
        object. A subscription embeds only the first ten; the mirror completes a truncated ``items`` here."""
        ...

    # invoices ----------------------------------------------------------------------------------------------
    async def retrieve_invoice(self, invoice_id: str) -> StripeObject: ...

    async def list_invoices(
        self,
        *,
        customer: str | None = None,
        subscription: str | None = None,
        status: str | None = None,
        limit: int = 10,
        starting_after: str | None = None,
    ) -> StripeObject:
        """One page of invoices, newest first, as a Stripe list object."""
        ...

    async def list_invoice_lines(
        self,
        invoice_id: str,
        *,
        limit: int = 10,
        starting_after: str | None = None,
    ) -> StripeObject:
        """One page of an invoice's lines (``GET /v1/invoices/{id}/lines``), in the invoice's order, as a Stripe
        list object. An invoice embeds only the first ten; the mirror completes a truncated ``lines`` here."""
        ...

    async def pay_invoice(
        self, invoice_id: str, *, idempotency_key: str, payment_method: str | None = None
    ) -> StripeObject:
        """Attempt payment now; a decline raises ``ProcessorError(status_code=402, code="card_declined")``."""
        ...

    # refunds -----------------------------------------------------------------------------------------------
    async def create_refund(
        self,
        *,
        idempotency_key: str,
        charge: str | None = None,
        payment_intent: str | None = None,
        amount: int | None = None,
        reason: str | None = None,
        metadata: Metadata | None = None,
    ) -> StripeObject:
        """Refund a charge (whole when ``amount`` is None)."""
        ...

    # sessions ----------------------------------------------------------------------------------------------
    async def create_checkout_session(
        self,
        *,
        idempotency_key: str,
        mode: str,
        success_url: str,
        cancel_url: str | None = None,
        line_items: Sequence[Mapping[str, Any]] = (),
        customer: str | None = None,
        customer_email: str | None = None,
        client_reference_id: str | None = None,
        metadata: Metadata | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> StripeObject:
        """A hosted checkout session (``mode``: payment, subscription or setup); its ``url`` is where to go."""
        ...

    async def create_billing_portal_session(
        self, *, customer: str, return_url: str, idempotency_key: str
    ) -> StripeObject: ...

    # usage, money, events, endpoints -----------------------------------------------------------------------
    async def create_meter_event(
        self,
        *,
        event_name: str,
        payload: Mapping[str, str],
        idempotency_key: str,
        identifier: str | None = None,
        timestamp: int | None = None,
    ) -> StripeObject:
        """Report usage (``payload`` holds ``stripe_customer_id`` and ``value``)."""
        ...

    async def retrieve_thin_event(self, event_id: str) -> StripeObject:
        """A thin (v2) event in full (``GET /v2/core/events/{id}``): the pushed notification carries only a
        reference; ``data`` holds the details (a meter error report's identifiers)."""
        ...

    async def retrieve_balance_transaction(self, balance_transaction_id: str) -> StripeObject: ...

    async def list_balance_transactions(
        self,
        *,
        type: str | None = None,
        created_gte: int | None = None,
        created_lte: int | None = None,
        limit: int = 100,
        starting_after: str | None = None,
    ) -> StripeObject:
        """One page of balance transactions, newest first (``GET /v1/balance_transactions``), filtered by
        ``type`` (``charge``, ``refund``, ``adjustment`` …) and a ``created`` range in Unix seconds: the fee
        reconciler reads fees a hundred at a time this way instead of one retrieve per charge."""
        ...

    async def retrieve_charge(self, charge_id: str) -> StripeObject: ...

    async def mark_invoice_uncollectible(self, invoice_id: str, *, idempotency_key: str) -> StripeObject:
        """Write the open invoice off (``POST /v1/invoices/{id}/mark_uncollectible``): what the dunning sweeper
        asks when its terminal action is ``unpaid``."""
        ...

    async def retrieve_event(self, event_id: str) -> StripeObject:
        """Re-fetch an event: the authoritative copy of what a webhook carried."""
        ...

    async def list_events(
        self,
        *,
        types: Sequence[str] = (),
        created_gte: int | None = None,
        created_lte: int | None = None,
        limit: int = 100,
        starting_after: str | None = None,
    ) -> StripeObject:
        """One page of events, newest first (``GET /v1/events``), of the given ``types`` (exact names, at most
        20, Stripe's ``types[]``) in a ``created`` range in Unix seconds: payment sync reads what changed at the
        processor since its last pass this way, whether or not its webhook arrived."""
        ...

    async def create_webhook_endpoint(
        self,
        *,
        url: str,
        enabled_events: Sequence[str],
        idempotency_key: str,
        description: str | None = None,
        api_version: str | None = None,
    ) -> StripeObject:
        """Register an endpoint; the answer's ``secret`` is shown this once and never again."""
        ...

    async def list_webhook_endpoints(self) -> list[StripeObject]:
        """Every registered endpoint (without secrets)."""
        ...


__all__ = ["API_VERSION", "Metadata", "Processor", "StripeObject"]
