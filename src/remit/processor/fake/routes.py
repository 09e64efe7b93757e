"""The fake's one route table: HTTP method and path → method name and operation.

Both faces resolve calls here: the HTTP face by the request's method and path, the in-process processor by
the same method and path it would have sent. The method name (``customers.create``, ``invoices.pay`` — the
official SDK's resource and verb) is what scripted failures and idempotency keys are scoped by.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from remit.processor.fake.errors import ApiError
from remit.processor.fake.ops import catalog, checkout, customers, invoices, methods, payments, platform, subscriptions
from remit.processor.fake.params import Params
from remit.processor.fake.tx import Tx

Operation = Callable[..., Awaitable[dict[str, Any]]]

_ID = r"([^/]+)"


@dataclass(frozen=True, slots=True)
class Route:
    http_method: str
    pattern: re.Pattern[str]
    name: str
    operation: Operation

    @property
    def mutating(self) -> bool:
        return self.http_method in {"POST", "DELETE"}


@dataclass(frozen=True, slots=True)
class Match:
    route: Route
    path_args: tuple[str, ...]

    async def run(self, tx: Tx, params: Params) -> dict[str, Any]:
        return await self.route.operation(tx, params, *self.path_args)


def _route(http_method: str, path: str, name: str, operation: Operation) -> Route:
    regex = "^" + re.sub(r"\{[a-z_]+\}", _ID, path) + "$"
    return Route(http_method, re.compile(regex), name, operation)


ROUTES: tuple[Route, ...] = (
    _route("GET", "/v1/balance", "balance.retrieve", platform.retrieve_balance),
    _route("POST", "/v1/customers", "customers.create", customers.create_customer),
    _route("GET", "/v1/customers", "customers.list", customers.list_customers),
    _route("GET", "/v1/customers/{id}", "customers.retrieve", customers.retrieve_customer),
    _route("POST", "/v1/customers/{id}", "customers.update", customers.update_customer),
    _route("DELETE", "/v1/customers/{id}", "customers.delete", customers.delete_customer),
    _route("POST", "/v1/customers/{id}/sources", "customers.sources.create", methods.create_source),
    _route("POST", "/v1/customers/{id}/sources/{source}", "customers.sources.update", methods.update_source),
    _route("POST", "/v1/payment_methods", "payment_methods.create", methods.create_payment_method),
    _route("GET", "/v1/payment_methods/{id}", "payment_methods.retrieve", methods.retrieve_payment_method),
    _route("POST", "/v1/payment_methods/{id}/attach", "payment_methods.attach", methods.attach_payment_method),
    _route("POST", "/v1/payment_methods/{id}/detach", "payment_methods.detach", methods.detach_payment_method),
    _route("POST", "/v1/products", "products.create", catalog.create_product),
    _route("GET", "/v1/products/{id}", "products.retrieve", catalog.retrieve_product),
    _route("POST", "/v1/products/{id}", "products.update", catalog.update_product),
    _route("POST", "/v1/prices", "prices.create", catalog.create_price),
    _route("GET", "/v1/prices", "prices.list", catalog.list_prices),
    _route("GET", "/v1/prices/{id}", "prices.retrieve", catalog.retrieve_price),
    _route("POST", "/v1/subscriptions", "subscriptions.create", subscriptions.create_subscription),
    _route("GET", "/v1/subscriptions", "subscriptions.list", subscriptions.list_subscriptions),
    _route("GET", "/v1/subscriptions/{id}", "subscriptions.retrieve", subscriptions.retrieve_subscription),
    _route("POST", "/v1/subscriptions/{id}", "subscriptions.update", subscriptions.update_subscription),
    _route("DELETE", "/v1/subscriptions/{id}", "subscriptions.cancel", subscriptions.cancel_subscription),
    _route("POST", "/v1/subscriptions/{id}/resume", "subscriptions.resume", subscriptions.resume_subscription),
    _route("GET", "/v1/subscription_items", "subscription_items.list", subscriptions.list_subscription_items),
    _route("POST", "/v1/invoiceitems", "invoice_items.create", invoices.create_invoiceitem),
    _route("POST", "/v1/invoices", "invoices.create", invoices.create_invoice),
    _route("GET", "/v1/invoices", "invoices.list", invoices.list_invoices),
    _route("GET", "/v1/invoices/{id}", "invoices.retrieve", invoices.retrieve_invoice),
    _route("GET", "/v1/invoices/{id}/lines", "invoices.line_items.list", invoices.list_invoice_lines),
    _route("POST", "/v1/invoices/{id}", "invoices.update", invoices.update_invoice),
    _route("POST", "/v1/invoices/{id}/finalize", "invoices.finalize_invoice", invoices.finalize_invoice),
    _route("POST", "/v1/invoices/{id}/pay", "invoices.pay", invoices.pay_invoice),
    _route("POST", "/v1/invoices/{id}/void", "invoices.void_invoice", invoices.void_invoice),
    _route("POST", "/v1/invoices/{id}/mark_uncollectible", "invoices.mark_uncollectible", invoices.mark_uncollectible),
    _route("POST", "/v1/invoices/{id}/send", "invoices.send_invoice", invoices.send_invoice),
    _route("POST", "/v1/credit_notes", "credit_notes.create", invoices.create_credit_note),
    _route("POST", "/v1/payment_intents", "payment_intents.create", payments.create_payment_intent),
    _route("GET", "/v1/payment_intents/{id}", "payment_intents.retrieve", payments.retrieve_payment_intent),
    _route("POST", "/v1/payment_intents/{id}/capture", "payment_intents.capture", payments.capture_payment_intent),
    _route("GET", "/v1/charges", "charges.list", payments.list_charges),
    _route("GET", "/v1/charges/{id}", "charges.retrieve", payments.retrieve_charge),
    _route("POST", "/v1/refunds", "refunds.create", payments.create_refund),
    _route("GET", "/v1/refunds/{id}", "refunds.retrieve", payments.retrieve_refund),
    _route("GET", "/v1/disputes/{id}", "disputes.retrieve", payments.retrieve_dispute),
    _route("POST", "/v1/disputes/{id}/close", "disputes.close", payments.close_dispute),
    _route(
        "GET", "/v1/balance_transactions/{id}", "balance_transactions.retrieve", payments.retrieve_balance_transaction
    ),
    _route("POST", "/v1/payouts", "payouts.create", payments.create_payout),
    _route("POST", "/v1/payouts/{id}", "payouts.update", payments.update_payout),
    _route("POST", "/v1/checkout/sessions", "checkout.sessions.create", checkout.create_checkout_session),
    _route("GET", "/v1/checkout/sessions", "checkout.sessions.list", checkout.list_checkout_sessions),
    _route("GET", "/v1/checkout/sessions/{id}", "checkout.sessions.retrieve", checkout.retrieve_checkout_session),
    _route("POST", "/v1/checkout/sessions/{id}/expire", "checkout.sessions.expire", checkout.expire_checkout_session),
    _route("GET", "/v1/payment_pages/{id}", "payment_pages.retrieve", checkout.retrieve_checkout_session),
    _route("POST", "/v1/payment_pages/{id}/confirm", "payment_pages.confirm", checkout.complete_checkout_session),
    _route("POST", "/v1/billing_portal/sessions", "billing_portal.sessions.create", platform.create_portal_session),
    _route("POST", "/v1/billing/meters", "billing.meters.create", platform.create_meter),
    _route("GET", "/v1/billing/meters", "billing.meters.list", platform.list_meters),
    _route("POST", "/v1/billing/meter_events", "billing.meter_events.create", platform.create_meter_event),
    _route(
        "POST",
        "/v2/billing/meter_event_session",
        "v2.billing.meter_event_session.create",
        platform.create_meter_event_session,
    ),
    _route(
        "POST",
        "/v2/billing/meter_event_stream",
        "v2.billing.meter_event_stream.create",
        platform.create_meter_event_stream,
    ),
    _route("POST", "/v1/webhook_endpoints", "webhook_endpoints.create", platform.create_webhook_endpoint),
    _route("GET", "/v1/webhook_endpoints", "webhook_endpoints.list", platform.list_webhook_endpoints),
    _route("GET", "/v1/webhook_endpoints/{id}", "webhook_endpoints.retrieve", platform.retrieve_webhook_endpoint),
    _route("POST", "/v1/webhook_endpoints/{id}", "webhook_endpoints.update", platform.update_webhook_endpoint),
    _route("DELETE", "/v1/webhook_endpoints/{id}", "webhook_endpoints.delete", platform.delete_webhook_endpoint),
    _route("GET", "/v1/events", "events.list", platform.list_events_op),
    _route("GET", "/v1/events/{id}", "events.retrieve", platform.retrieve_event),
    _route("POST", "/v1/accounts", "accounts.create", platform.create_account),
    _route("DELETE", "/v1/accounts/{id}", "accounts.delete", platform.delete_account),
)

#: Every method name the fake answers, for ``remit fake fail --method`` to check against.
METHOD_NAMES: frozenset[str] = frozenset(route.name for route in ROUTES)


def resolve(http_method: str, path: str) -> Match:
    """The route for a call, or Stripe's 404 for an unknown URL."""
    method = http_method.upper()
    for route in ROUTES:
        if route.http_method != method:
            continue
        found = route.pattern.match(path)
        if found is not None:
            return Match(route, found.groups())
    raise ApiError(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")


__all__ = ["METHOD_NAMES", "ROUTES", "Match", "Route", "resolve"]
