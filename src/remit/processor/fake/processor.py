"""The fake processor as a :class:`~remit.processor.base.Processor`: each method is the HTTP call the official
SDK would make, answered in-process by :class:`~remit.processor.fake.engine.FakeEngine`.

Going through the same route table as the HTTP face means scripted failures, idempotency keys and events
behave the same in a unit test as against ``/fake/v1``. A few extra methods (products, prices, completing a
checkout, moving the clock, scripting failures) are for tests, triggers and the demo.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from remit.processor.base import Metadata, StripeObject
from remit.processor.errors import from_answer, unreachable
from remit.processor.fake.engine import FakeEngine, FakeResponse, FakeTimeout
from remit.processor.requests import (
    balance_transaction_list_params,
    event_list_params,
    item_change,
    request_params,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

NAME = "fake"
#: The demo packages' monthly prices (cents) in the fake's catalogue (``DEMO_PACKAGES`` declare none); any other
#: package without a price sells at the default.
DEMO_PRICES = {"starter": 1500, "pro": 4900}
DEMO_PRICE_DEFAULT = 1000


class FakeProcessor:
    """The embedded default processor and the test double."""

    name = NAME

    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    async def _call(
        self,
        http_method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> StripeObject:
        try:
            response = await self.engine.call(http_method, path, params, idempotency_key=idempotency_key)
        except FakeTimeout as exc:
            raise unreachable(NAME, exc.method, "timeout") from None
        return self._unwrap(response, f"{http_method} {path}")

    @staticmethod
    def _unwrap(response: FakeResponse, fallback: str) -> StripeObject:
        if not response.ok:
            raise from_answer(NAME, response.method or fallback, response.status, response.body, response.headers)
        return response.body

    async def ping(self) -> None:
        await self._call("GET", "/v1/balance")

    async def close(self) -> None:
        return None

    def joining(self, conn: AsyncConnection) -> AbstractContextManager[None]:
        return self.engine.joining(conn)

    async def package_price(self, *, slug: str, name: str) -> str | None:
        """The demo catalogue's price for ``slug`` (:data:`DEMO_PRICES`), made once with fixed idempotency keys
        (the fake keeps keys for ever), so every run finds the same."""
        product = await self.create_product(name=name, idempotency_key=f"remit-demo-package-{slug}-product")
        price = await self.create_price(
            product=product["id"],
            unit_amount=DEMO_PRICES.get(slug, DEMO_PRICE_DEFAULT),
            idempotency_key=f"remit-demo-package-{slug}-price",
            nickname=f"remit-{slug}-monthly",
        )
        return str(price["id"])

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
            extra, email=email, name=name, description=description, metadata=metadata, payment_method=payment_method
        )
        if payment_method:
            params.setdefault("invoice_settings", {"default_payment_method": payment_method})
        return await self._call("POST", "/v1/customers", params, idempotency_key=idempotency_key)

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
        params = request_params(extra, email=email, name=name, description=description, metadata=metadata)
        if default_payment_method:
            params["invoice_settings"] = {"default_payment_method": default_payment_method}
        return await self._call("POST", f"/v1/customers/{customer_id}", params, idempotency_key=idempotency_key)

    async def retrieve_customer(self, customer_id: str) -> StripeObject:
        return await self._call("GET", f"/v1/customers/{customer_id}")

    async def delete_customer(self, customer_id: str, *, idempotency_key: str) -> StripeObject:
        return await self._call("DELETE", f"/v1/customers/{customer_id}", idempotency_key=idempotency_key)

    async def attach_payment_method(self, payment_method: str, *, customer: str, idempotency_key: str) -> StripeObject:
        return await self._call(
            "POST",
            f"/v1/payment_methods/{payment_method}/attach",
            {"customer": customer},
            idempotency_key=idempotency_key,
        )

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
            metadata=metadata,
        )
        return await self._call("POST", "/v1/subscriptions", params, idempotency_key=idempotency_key)

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
        params = request_params(extra, proration_behavior=proration_behavior, metadata=metadata)
        if price is not None or quantity is not None:
            current = await self.retrieve_subscription(subscription_id)
            params["items"] = item_change(current, price=price, quantity=quantity)
        return await self._call("POST", f"/v1/subscriptions/{subscription_id}", params, idempotency_key=idempotency_key)

    async def cancel_subscription(
        self, subscription_id: str, *, idempotency_key: str, at_period_end: bool = False
    ) -> StripeObject:
        if at_period_end:
            return await self._call(
                "POST",
                f"/v1/subscriptions/{subscription_id}",
                {"cancel_at_period_end": True},
                idempotency_key=idempotency_key,
            )
        return await self._call("DELETE", f"/v1/subscriptions/{subscription_id}", idempotency_key=idempotency_key)

    async def resume_subscription(self, subscription_id: str, *, idempotency_key: str) -> StripeObject:
        current = await self.retrieve_subscription(subscription_id)
        if current["status"] == "paused":
            return await self._call(
                "POST", f"/v1/subscriptions/{subscription_id}/resume", idempotency_key=idempotency_key
            )
        return await self._call(
            "POST",
            f"/v1/subscriptions/{subscription_id}",
            {"cancel_at_period_end": False},
            idempotency_key=idempotency_key,
        )

    async def retrieve_subscription(self, subscription_id: str) -> StripeObject:
        return await self._call("GET", f"/v1/subscriptions/{subscription_id}")

    async def list_subscription_items(
        self, subscription_id: str, *, limit: int = 10, starting_after: str | None = None
    ) -> StripeObject:
        return await self._call(
            "GET",
            "/v1/subscription_items",
            request_params(subscription=subscription_id, limit=limit, starting_after=starting_after),
        )

    # invoices
    async def retrieve_invoice(self, invoice_id: str) -> StripeObject:
        return await self._call("GET", f"/v1/invoices/{invoice_id}")

    async def list_invoices(
        self,
        *,
        customer: str | None = None,
        subscription: str | None = None,
        status: str | None = None,
        limit: int = 10,
        starting_after: str | None = None,
    ) -> StripeObject:
        return await self._call(
            "GET",
            "/v1/invoices",
            request_params(
                customer=customer, subscription=subscription, status=status, limit=limit, starting_after=starting_after
            ),
        )

    async def list_invoice_lines(
        self, invoice_id: str, *, limit: int = 10, starting_after: str | None = None
    ) -> StripeObject:
        return await self._call(
            "GET", f"/v1/invoices/{invoice_id}/lines", request_params(limit=limit, starting_after=starting_after)
        )

    async def pay_invoice(
        self, invoice_id: str, *, idempotency_key: str, payment_method: str | None = None
    ) -> StripeObject:
        return await self._call(
            "POST",
            f"/v1/invoices/{invoice_id}/pay",
            request_params(payment_method=payment_method),
            idempotency_key=idempotency_key,
        )

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
            charge=charge, payment_intent=payment_intent, amount=amount, reason=reason, metadata=metadata
        )
        return await self._call("POST", "/v1/refunds", params, idempotency_key=idempotency_key)

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
            metadata=metadata,
        )
        return await self._call("POST", "/v1/checkout/sessions", params, idempotency_key=idempotency_key)

    async def create_billing_portal_session(
        self, *, customer: str, return_url: str, idempotency_key: str
    ) -> StripeObject:
        return await self._call(
            "POST",
            "/v1/billing_portal/sessions",
            {"customer": customer, "return_url": return_url},
            idempotency_key=idempotency_key,
        )

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
        return await self._call("POST", "/v1/billing/meter_events", params, idempotency_key=idempotency_key)

    async def retrieve_thin_event(self, event_id: str) -> StripeObject:
        return await self._call("GET", f"/v2/core/events/{event_id}")

    async def retrieve_balance_transaction(self, balance_transaction_id: str) -> StripeObject:
        return await self._call("GET", f"/v1/balance_transactions/{balance_transaction_id}")

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
        return await self._call("GET", "/v1/balance_transactions", params)

    async def retrieve_charge(self, charge_id: str) -> StripeObject:
        return await self._call("GET", f"/v1/charges/{charge_id}")

    async def mark_invoice_uncollectible(self, invoice_id: str, *, idempotency_key: str) -> StripeObject:
        return await self._call(
            "POST", f"/v1/invoices/{invoice_id}/mark_uncollectible", idempotency_key=idempotency_key
        )

    async def retrieve_event(self, event_id: str) -> StripeObject:
        return await self._call("GET", f"/v1/events/{event_id}")

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
        return await self._call("GET", "/v1/events", params)

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
        return await self._call("POST", "/v1/webhook_endpoints", params, idempotency_key=idempotency_key)

    async def list_webhook_endpoints(self) -> list[StripeObject]:
        listed = await self._call("GET", "/v1/webhook_endpoints", {"limit": 100})
        return list(listed["data"])

    # extras for tests, triggers and the demo (not part of the protocol) -------------------------------------
    async def create_product(self, *, name: str, idempotency_key: str, **extra: Any) -> StripeObject:
        params = request_params(extra, name=name)
        return await self._call("POST", "/v1/products", params, idempotency_key=idempotency_key)

    async def create_price(
        self,
        *,
        product: str,
        unit_amount: int,
        idempotency_key: str,
        currency: str = "usd",
        interval: str | None = "month",
        **extra: Any,
    ) -> StripeObject:
        params = request_params(extra, product=product, unit_amount=unit_amount, currency=currency)
        if interval:
            params["recurring"] = {"interval": interval}
        return await self._call("POST", "/v1/prices", params, idempotency_key=idempotency_key)

    async def complete_checkout_session(
        self, session_id: str, *, payment_method: str = "pm_card_visa", idempotency_key: str | None = None
    ) -> StripeObject:
        """What the customer does on the hosted page: pay (or save a card) with ``payment_method``."""
        return await self._call(
            "POST",
            f"/v1/payment_pages/{session_id}/confirm",
            {"payment_method": payment_method},
            idempotency_key=idempotency_key,
        )

    async def request(
        self,
        http_method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> StripeObject:
        """Any call of the fake's API by method and path (raises ProcessorError on an error answer)."""
        return await self._call(http_method, path, params, idempotency_key=idempotency_key)


__all__ = ["NAME", "FakeProcessor"]
