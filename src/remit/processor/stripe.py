"""The live processor: Stripe through the official ``stripe`` package (``StripeClient``, async methods).

- ``STRIPE_API_BASE`` (``api_base``) points the client elsewhere — the fake's ``/fake`` in tests, so this
  adapter runs end to end against a local server that answers like Stripe.
- The SDK's own retries are off (``max_network_retries=0``): remit's job engine retries with backoff and
  honours ``Retry-After``, and every mutating call carries the caller's idempotency key, so a retry converges.
- Calls are pinned to :data:`remit.processor.base.API_VERSION`, the version of the fake's world and of remit's
  fixtures, so objects and events have one shape whichever processor runs.
- Every ``stripe.StripeError`` becomes :class:`remit.errors.ProcessorError` (status, ``Retry-After``, code);
  messages carry the method and code only, never Stripe's text (it may quote customer data).
- The SDK's ``stripe`` logger is held at INFO (:func:`remit.telemetry.logging.quiet_payload_loggers`): at
  DEBUG it logs every request's form body and every response body — customers' names and addresses, whole
  events — which remit's redaction cannot reliably mask inside one preformatted string.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import stripe

from remit.processor.base import API_VERSION, Metadata, StripeObject
from remit.processor.errors import from_answer, unreachable
from remit.processor.requests import (
    balance_transaction_list_params,
    event_list_params,
    item_change,
    request_params,
)
from remit.telemetry.logging import quiet_payload_loggers

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

NAME = "stripe"
DEFAULT_TIMEOUT = 30.0


def _plain(obj: Any) -> Any:
    """A StripeObject (or list of them) as plain dicts in Stripe's JSON shape. Newer SDKs decode decimal
    strings (``unit_amount_decimal``) into ``Decimal``; they go back to the strings Stripe sent, so both
    processors answer the same JSON values."""
    if isinstance(obj, stripe.StripeObject):
        return _plain(obj.to_dict(recursive=True))
    if isinstance(obj, dict):
        return {key: _plain(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [_plain(item) for item in obj]
    if isinstance(obj, Decimal):
        return str(obj)
    return obj


class StripeProcessor:
    """:class:`~remit.processor.base.Processor` on Stripe."""

    name = NAME

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        stripe_version: str | None = API_VERSION,
    ) -> None:
        quiet_payload_loggers()
        self._http = stripe.HTTPXClient(timeout=timeout)
        bases: dict[str, str] = {}
        if api_base:
            base = api_base.rstrip("/")
            bases = {"api": base, "connect": base, "files": base, "meter_events": base}
        self._client = stripe.StripeClient(
            api_key,
            base_addresses=bases or None,  # type: ignore[arg-type]
            http_client=self._http,
            max_network_retries=0,
            stripe_version=stripe_version,
        )
        self._v1 = self._client.v1

    async def _call(
        self,
        method: str,
        fn: Callable[..., Awaitable[Any]],
        *args: Any,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        options: dict[str, Any] = {}
        if idempotency_key is not None:
            options["idempotency_key"] = idempotency_key
        kwargs: dict[str, Any] = {"options": options}
        if params is not None:
            kwargs["params"] = dict(params)
        try:
            result = await fn(*args, **kwargs)
        except stripe.APIConnectionError as exc:
            reason = "timeout" if "Timeout" in str(exc) else "connection_error"
            raise unreachable(NAME, method, reason) from None
        except stripe.StripeError as exc:
            body = exc.json_body if isinstance(exc.json_body, dict) else {}
            if not body.get("error") and exc.code:
                body = {"error": {"code": exc.code}}
            raise from_answer(NAME, method, exc.http_status, body, dict(exc.headers or {})) from None
        return _plain(result)

    async def ping(self) -> None:
        await self._call("balance.retrieve", self._v1.balance.retrieve_async)

    def joining(self, conn: AsyncConnection) -> AbstractContextManager[None]:
        """Stripe keeps its world elsewhere: a caller's transaction changes nothing."""
        return nullcontext()

    async def package_price(self, *, slug: str, name: str) -> str | None:
        """Stripe has no demo catalogue: a package sells at the price it declares."""
        return None

    async def close(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]

    # customers
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
        params = request_params(
            extra,
            email=email,
            name=name,
            description=description,
            metadata=dict(metadata) if metadata else None,
            payment_method=payment_method,
        )
        if payment_method:
            params.setdefault("invoice_settings", {"default_payment_method": payment_method})
        result: StripeObject = await self._call(
            "customers.create", self._v1.customers.create_async, params=params, idempotency_key=idempotency_key
        )
        return result

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
        params = request_params(
            extra, email=email, name=name, description=description, metadata=dict(metadata) if metadata else None
        )
        if default_payment_method:
            params["invoice_settings"] = {"default_payment_method": default_payment_method}
        result: StripeObject = await self._call(
            "customers.update",
            self._v1.customers.update_async,
            customer_id,
            params=params,
            idempotency_key=idempotency_key,
        )
        return result

    async def retrieve_customer(self, customer_id: str) -> StripeObject:
        result: StripeObject = await self._call("customers.retrieve", self._v1.customers.retrieve_async, customer_id)
        return result

    async def delete_customer(self, customer_id: str, *, idempotency_key: str) -> StripeObject:
        result: StripeObject = await self._call(
            "customers.delete", self._v1.customers.delete_async, customer_id, idempotency_key=idempotency_key
        )
        return result

    async def attach_payment_method(self, payment_method: str, *, customer: str, idempotency_key: str) -> StripeObject:
        result: StripeObject = await self._call(
            "payment_methods.attach",
            self._v1.payment_methods.attach_async,
            payment_method,
            params={"customer": customer},
            idempotency_key=idempotency_key,
        )
        return result

    # subscriptions
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
        params = request_params(
            extra,
            customer=customer,
            items=[dict(item) for item in items],
            trial_period_days=trial_period_days,
            default_payment_method=default_payment_method,
            metadata=dict(metadata) if metadata else None,
        )
        result: StripeObject = await self._call(
            "subscriptions.create", self._v1.subscriptions.create_async, params=params, idempotency_key=idempotency_key
        )
        return result

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
        params = request_params(
            extra, proration_behavior=proration_behavior, metadata=dict(metadata) if metadata else None
        )
        if price is not None or quantity is not None:
            current = await self.retrieve_subscription(subscription_id)
            params["items"] = item_change(current, price=price, quantity=quantity)
        result: StripeObject = await self._call(
            "subscriptions.update",
            self._v1.subscriptions.update_async,
            subscription_id,
            params=params,
            idempotency_key=idempotency_key,
        )
        return result

    async def cancel_subscription(
        self, subscription_id: str, *, idempotency_key: str, at_period_end: bool = False
    ) -> StripeObject:
        if at_period_end:
            result: StripeObject = await self._call(
                "subscriptions.update",
                self._v1.subscriptions.update_async,
                subscription_id,
                params={"cancel_at_period_end": True},
                idempotency_key=idempotency_key,
            )
            return result
        result = await self._call(
            "subscriptions.cancel",
            self._v1.subscriptions.cancel_async,
            subscription_id,
            idempotency_key=idempotency_key,
        )
        return result

    async def resume_subscription(self, subscription_id: str, *, idempotency_key: str) -> StripeObject:
        current = await self.retrieve_subscription(subscription_id)
        if current["status"] == "paused":
            result: StripeObject = await self._call(
                "subscriptions.resume",
                self._v1.subscriptions.resume_async,
                subscription_id,
                idempotency_key=idempotency_key,
            )
            return result
        result = await self._call(
            "subscriptions.update",
            self._v1.subscriptions.update_async,
            subscription_id,
            params={"cancel_at_period_end": False},
            idempotency_key=idempotency_key,
        )
        return result

    async def retrieve_subscription(self, subscription_id: str) -> StripeObject:
        result: StripeObject = await self._call(
            "subscriptions.retrieve", self._v1.subscriptions.retrieve_async, subscription_id
        )
        return result

    async def list_subscription_items(
        self, subscription_id: str, *, limit: int = 10, starting_after: str | None = None
    ) -> StripeObject:
        params = request_params(subscription=subscription_id, limit=limit, starting_after=starting_after)
        result: StripeObject = await self._call(
            "subscription_items.list", self._v1.subscription_items.list_async, params=params
        )
        return result

    # invoices
    async def retrieve_invoice(self, invoice_id: str) -> StripeObject:
        result: StripeObject = await self._call("invoices.retrieve", self._v1.invoices.retrieve_async, invoice_id)
        return result

    async def list_invoices(
        self,
        *,
        customer: str | None = None,
        subscription: str | None = None,
        status: str | None = None,
        limit: int = 10,
        starting_after: str | None = None,
    ) -> StripeObject:
        params = request_params(
            customer=customer, subscription=subscription, status=status, limit=limit, starting_after=starting_after
        )
        result: StripeObject = await self._call("invoices.list", self._v1.invoices.list_async, params=params)
        return result

    async def list_invoice_lines(
        self, invoice_id: str, *, limit: int = 10, starting_after: str | None = None
    ) -> StripeObject:
        params = request_params(limit=limit, starting_after=starting_after)
        result: StripeObject = await self._call(
            "invoices.line_items.list", self._v1.invoices.line_items.list_async, invoice_id, params=params
        )
        return result

    async def pay_invoice(
        self, invoice_id: str, *, idempotency_key: str, payment_method: str | None = None
    ) -> StripeObject:
        result: StripeObject = await self._call(
            "invoices.pay",
            self._v1.invoices.pay_async,
            invoice_id,
            params=request_params(payment_method=payment_method),
            idempotency_key=idempotency_key,
        )
        return result

    # refunds
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
        params = request_params(
            charge=charge,
            payment_intent=payment_intent,
            amount=amount,
            reason=reason,
            metadata=dict(metadata) if metadata else None,
        )
        result: StripeObject = await self._call(
            "refunds.create", self._v1.refunds.create_async, params=params, idempotency_key=idempotency_key
        )
        return result

    # sessions
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
        params = request_params(
            extra,
            mode=mode,
            success_url=success_url,
            cancel_url=cancel_url,
            line_items=[dict(item) for item in line_items] or None,
            customer=customer,
            customer_email=customer_email,
            client_reference_id=client_reference_id,
            metadata=dict(metadata) if metadata else None,
        )
        result: StripeObject = await self._call(
            "checkout.sessions.create",
            self._v1.checkout.sessions.create_async,
            params=params,
            idempotency_key=idempotency_key,
        )
        return result

    async def create_billing_portal_session(
        self, *, customer: str, return_url: str, idempotency_key: str
    ) -> StripeObject:
        result: StripeObject = await self._call(
            "billing_portal.sessions.create",
            self._v1.billing_portal.sessions.create_async,
            params={"customer": customer, "return_url": return_url},
            idempotency_key=idempotency_key,
        )
        return result

    # usage, money, events, endpoints
    async def create_meter_event(
        self,
        *,
        event_name: str,
        payload: Mapping[str, str],
        idempotency_key: str,
        identifier: str | None = None,
        timestamp: int | None = None,
    ) -> StripeObject:
        params = request_params(
            event_name=event_name, payload=dict(payload), identifier=identifier, timestamp=timestamp
        )
        result: StripeObject = await self._call(
            "billing.meter_events.create",
            self._v1.billing.meter_events.create_async,
            params=params,
            idempotency_key=idempotency_key,
        )
        return result

    async def retrieve_thin_event(self, event_id: str) -> StripeObject:
        result: StripeObject = await self._call(
            "v2.core.events.retrieve", self._client.v2.core.events.retrieve_async, event_id
        )
        return result

    async def retrieve_balance_transaction(self, balance_transaction_id: str) -> StripeObject:
        result: StripeObject = await self._call(
            "balance_transactions.retrieve", self._v1.balance_transactions.retrieve_async, balance_transaction_id
        )
        return result

    async def list_balance_transactions(
        self,
        *,
        type: str | None = None,
        created_gte: int | None = None,
        created_lte: int | None = None,
        limit: int = 100,
        starting_after: str | None = None,
    ) -> StripeObject:
        params = balance_transaction_list_params(
            type=type, created_gte=created_gte, created_lte=created_lte, limit=limit, starting_after=starting_after
        )
        result: StripeObject = await self._call(
            "balance_transactions.list", self._v1.balance_transactions.list_async, params=params
        )
        return result

    async def retrieve_charge(self, charge_id: str) -> StripeObject:
        result: StripeObject = await self._call("charges.retrieve", self._v1.charges.retrieve_async, charge_id)
        return result

    async def mark_invoice_uncollectible(self, invoice_id: str, *, idempotency_key: str) -> StripeObject:
        result: StripeObject = await self._call(
            "invoices.mark_uncollectible",
            self._v1.invoices.mark_uncollectible_async,
            invoice_id,
            idempotency_key=idempotency_key,
        )
        return result

    async def retrieve_event(self, event_id: str) -> StripeObject:
        result: StripeObject = await self._call("events.retrieve", self._v1.events.retrieve_async, event_id)
        return result

    async def list_events(
        self,
        *,
        types: Sequence[str] = (),
        created_gte: int | None = None,
        created_lte: int | None = None,
        limit: int = 100,
        starting_after: str | None = None,
    ) -> StripeObject:
        params = event_list_params(
            types=types, created_gte=created_gte, created_lte=created_lte, limit=limit, starting_after=starting_after
        )
        result: StripeObject = await self._call("events.list", self._v1.events.list_async, params=params)
        return result

    async def create_webhook_endpoint(
        self,
        *,
        url: str,
        enabled_events: Sequence[str],
        idempotency_key: str,
        description: str | None = None,
        api_version: str | None = None,
    ) -> StripeObject:
        params = request_params(
            url=url, enabled_events=list(enabled_events), description=description, api_version=api_version
        )
        result: StripeObject = await self._call(
            "webhook_endpoints.create",
            self._v1.webhook_endpoints.create_async,
            params=params,
            idempotency_key=idempotency_key,
        )
        return result

    async def list_webhook_endpoints(self) -> list[StripeObject]:
        listed = await self._call(
            "webhook_endpoints.list", self._v1.webhook_endpoints.list_async, params={"limit": 100}
        )
        return list(listed["data"])


__all__ = ["DEFAULT_TIMEOUT", "NAME", "StripeProcessor"]
