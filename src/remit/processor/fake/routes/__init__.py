"""The fake's one route table: HTTP method and path → method name, declared parameters, operation, events.

Both faces resolve calls here: the HTTP face by the request's method and path, the in-process processor by
the same method and path it would have sent. The method name (``customers.create``, ``invoices.pay``) is the
official SDK's service path (``client.v1.customers.create``); scripted failures and idempotency keys are
scoped by it. Each route declares, beside it, the parameters it takes (:mod:`~remit.processor.fake.schema`:
what is not declared is refused as Stripe refuses it) and the events it can emit, in the module of its area
(:mod:`.customers`, :mod:`.billing`, :mod:`.payments`, :mod:`.platform`); ``docs/processors.md``'s route
reference and the contract tests are generated from this table (:mod:`~remit.processor.fake.reference`).
:data:`NOT_SERVED` names the Stripe endpoints next to these that the fake does not serve.
"""

from __future__ import annotations

from remit.processor.fake.errors import ApiError
from remit.processor.fake.routes import billing, customers, payments, plans, platform, quotes
from remit.processor.fake.routes.declarations import PAYMENT_METHOD_TYPES
from remit.processor.fake.routes.route import Match, Route

#: Every route, a literal path before a path with an id in the same place (``/v1/customers/search`` before
#: ``/v1/customers/{id}``).
ROUTES: tuple[Route, ...] = (
    *customers.ROUTES,
    *billing.ROUTES,
    *quotes.ROUTES,
    *plans.ROUTES,
    *payments.ROUTES,
    *platform.ROUTES,
)

#: Stripe endpoints a billing app may reach for that the fake does not serve (they answer Stripe's 404 for an
#: unknown URL): ``(method, path, why)``.
NOT_SERVED: tuple[tuple[str, str, str], ...] = (
    ("POST", "/v1/charges", "the legacy Charges API; create a payment intent"),
    ("POST", "/v1/charges/{id}/capture", "the legacy Charges API; capture the payment intent"),
    ("*", "/v1/promotion_codes", "coupons are applied by id only"),
    ("*", "/v1/tax_rates, /v1/tax/*", "no taxes: every amount is tax-free"),
    ("*", "/v1/setup_intents", "cards are saved by attaching payment methods or by setup-mode checkout"),
    ("*", "/v1/subscription_schedules", "no schedules"),
    ("POST", "/v1/subscription_items", "add items with subscriptions.update"),
    ("GET", "/v1/quotes/{id}/pdf", "no quote PDFs"),
    ("POST", "/v1/invoices/create_preview", "no previews of upcoming invoices"),
    ("GET", "/v1/credit_notes/preview", "no previews of credit notes"),
    ("*", "/v1/customers/{id}/cash_balance_transactions", "no cash balances (see customers.cash_balance.*)"),
    ("*", "/v1/billing_portal/configurations", "one built-in portal configuration"),
    ("*", "/v1/billing/meters/{id}/deactivate, /v1/billing/meters/{id}/reactivate", "meters stay active"),
    ("*", "/v1/files, /v1/sources, /v1/transfers, /v1/application_fees", "outside billing"),
)

#: Every method name the fake answers, for ``remit fake fail --method`` to check against.
METHOD_NAMES: frozenset[str] = frozenset(route.name for route in ROUTES)


#: Words Stripe uses as literal path segments where an id could stand (``/v1/credit_notes/preview``,
#: ``/v1/invoices/upcoming``): never taken for an id, so an endpoint the fake does not serve is an unknown URL
#: rather than "No such credit_note: 'preview'".
LITERAL_SEGMENTS = frozenset({"create_preview", "preview", "search", "upcoming"})


def resolve(http_method: str, path: str) -> Match:
    """The route for a call, or Stripe's 404 for an unknown URL."""
    method = http_method.upper()
    for route in ROUTES:
        if route.http_method != method:
            continue
        found = route.pattern.match(path)
        if found is not None and not LITERAL_SEGMENTS.intersection(found.groups()):
            return Match(route, found.groups())
    raise ApiError(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")


__all__ = [
    "LITERAL_SEGMENTS",
    "METHOD_NAMES",
    "NOT_SERVED",
    "PAYMENT_METHOD_TYPES",
    "ROUTES",
    "Match",
    "Route",
    "resolve",
]
