"""Quotes: create, list, retrieve, update a draft, finalize, accept, cancel, and their line lists."""

from __future__ import annotations

from remit.processor.fake.ops import quotes
from remit.processor.fake.routes.declarations import COLLECTION_METHODS, PRICE_DATA_UNSUPPORTED, SUBSCRIPTION_EVENTS
from remit.processor.fake.routes.route import Route, route
from remit.processor.fake.schema import (
    LIST,
    anything,
    array_of,
    enum,
    hash_of,
    integer,
    metadata,
    schema,
    string,
)

_LINE_ITEM = hash_of(
    price=string(),
    quantity=integer(),
    price_data=PRICE_DATA_UNSUPPORTED,
    discounts=anything(emptyable=True).refused(),
    tax_rates=array_of(string(), emptyable=True).refused(),
)
_SUBSCRIPTION_DATA = hash_of(
    description=string(emptyable=True),
    metadata=metadata(),
    trial_period_days=integer(emptyable=True),
    effective_date=anything(emptyable=True).refused(),
    billing_mode=anything().refused(),
)
#: What a quote's create and update take alike.
_QUOTE = {
    "collection_method": enum(*COLLECTION_METHODS),
    "customer": string(),
    "description": string(emptyable=True),
    "expires_at": integer(),
    "footer": string(emptyable=True),
    "header": string(emptyable=True),
    "invoice_settings": hash_of(days_until_due=integer(), issuer=anything().refused()),
    "line_items": array_of(_LINE_ITEM),
    "metadata": metadata(),
    "subscription_data": _SUBSCRIPTION_DATA,
    "application_fee_amount": anything(emptyable=True).refused(),
    "application_fee_percent": anything(emptyable=True).refused(),
    "automatic_tax": anything().refused(),
    "default_tax_rates": anything(emptyable=True).refused(),
    "discounts": anything(emptyable=True).refused(),
    "on_behalf_of": anything(emptyable=True).refused(),
    "transfer_data": anything(emptyable=True).refused(),
}
#: Accepting a recurring quote starts a subscription (and bills it); a one-time one drafts an invoice.
_ACCEPT_EVENTS = ("quote.accepted", "invoiceitem.created", *SUBSCRIPTION_EVENTS)

ROUTES: tuple[Route, ...] = (
    route(
        "POST",
        "/v1/quotes",
        "quotes.create",
        quotes.create_quote,
        schema(_QUOTE, from_quote=anything().refused(), test_clock=anything().refused()),
        emits=("quote.created",),
    ),
    route(
        "GET",
        "/v1/quotes",
        "quotes.list",
        quotes.list_quotes,
        schema(
            LIST,
            customer=string(),
            status=enum("accepted", "canceled", "draft", "open"),
            test_clock=anything().refused(),
        ),
    ),
    route("GET", "/v1/quotes/{id}", "quotes.retrieve", quotes.retrieve_quote),
    route("POST", "/v1/quotes/{id}", "quotes.update", quotes.update_quote, schema(_QUOTE)),
    route(
        "POST",
        "/v1/quotes/{id}/finalize",
        "quotes.finalize_quote",
        quotes.finalize_quote,
        schema(expires_at=integer()),
        emits=("quote.finalized",),
    ),
    route("POST", "/v1/quotes/{id}/accept", "quotes.accept", quotes.accept_quote, emits=_ACCEPT_EVENTS),
    route("POST", "/v1/quotes/{id}/cancel", "quotes.cancel", quotes.cancel_quote, emits=("quote.canceled",)),
    route("GET", "/v1/quotes/{id}/line_items", "quotes.line_items.list", quotes.list_line_items, schema(LIST)),
    route(
        "GET",
        "/v1/quotes/{id}/computed_upfront_line_items",
        "quotes.computed_upfront_line_items.list",
        quotes.list_computed_upfront_line_items,
        schema(LIST),
    ),
)

__all__ = ["ROUTES"]
