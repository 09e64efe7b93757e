"""The fake's one route table: HTTP method and path → method name, declared parameters, operation, events.

Both faces resolve calls here: the HTTP face by the request's method and path, the in-process processor by
the same method and path it would have sent. The method name (``customers.create``, ``invoices.pay``) is the
official SDK's service path (``client.v1.customers.create``); scripted failures and idempotency keys are
scoped by it. Each route declares, beside it, the parameters it takes (:mod:`~remit.processor.fake.schema`:
what is not declared is refused as Stripe refuses it) and the events it can emit; ``docs/processors.md``'s
route reference and the contract tests are generated from this table (:mod:`~remit.processor.fake.reference`).
:data:`NOT_SERVED` names the Stripe endpoints next to these that the fake does not serve.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from remit.processor.fake.errors import ApiError
from remit.processor.fake.ops import (
    balances,
    catalog,
    checkout,
    credit_notes,
    customers,
    discounts,
    disputes,
    invoice_items,
    invoices,
    methods,
    payments,
    payouts,
    platform,
    refunds,
    subscriptions,
    tax_ids,
)
from remit.processor.fake.params import Params
from remit.processor.fake.schema import (
    LIST,
    SEARCH,
    Param,
    Schema,
    anything,
    array_of,
    boolean,
    decimal,
    enum,
    hash_of,
    integer,
    metadata,
    range_filter,
    schema,
    string,
)
from remit.processor.fake.shapes.payments import EVIDENCE_FIELDS
from remit.processor.fake.tx import Tx
from remit.processor.fake.versions import DAHLIA, ENDIVE

Operation = Callable[..., Awaitable[dict[str, Any]]]

_ID = r"([^/]+)"


@dataclass(frozen=True, slots=True)
class Route:
    http_method: str
    path: str
    name: str
    operation: Operation
    params: Schema
    emits: tuple[str, ...]
    pattern: re.Pattern[str]

    @property
    def mutating(self) -> bool:
        return self.http_method in {"POST", "DELETE"}

    @property
    def summary(self) -> str:
        """The first sentence of the operation's docstring (what the route does, for the reference)."""
        doc = (self.operation.__doc__ or "").strip()
        return " ".join(doc.split("\n\n")[0].split())


@dataclass(frozen=True, slots=True)
class Match:
    route: Route
    path_args: tuple[str, ...]

    async def run(self, tx: Tx, params: Params) -> dict[str, Any]:
        return await self.route.operation(tx, params, *self.path_args)


def _route(
    http_method: str,
    path: str,
    name: str,
    operation: Operation,
    params: Schema | None = None,
    emits: tuple[str, ...] = (),
) -> Route:
    regex = "^" + re.sub(r"\{[a-z_]+\}", _ID, path) + "$"
    return Route(http_method, path, name, operation, params or schema(), emits, re.compile(regex))


# Shared parts of the declarations -----------------------------------------------------------------------------


def _address(*, required: bool = False, emptyable: bool = False) -> Param:
    return hash_of(
        required=required,
        emptyable=emptyable,
        city=string(),
        country=string(),
        line1=string(),
        line2=string(),
        postal_code=string(),
        state=string(),
    )


def _shipping(*, emptyable: bool = False, carrier: bool = False) -> Param:
    extra = {"carrier": string(), "tracking_number": string()} if carrier else {}
    return hash_of(
        extra, emptyable=emptyable, address=_address(required=True), name=string(required=True), phone=string()
    )


def _billing_details() -> Param:
    return hash_of(
        address=_address(emptyable=True),
        email=string(emptyable=True),
        name=string(emptyable=True),
        phone=string(emptyable=True),
        tax_id=string(),
    )


def _invoice_settings() -> Param:
    return hash_of(
        custom_fields=array_of(hash_of(name=string(required=True), value=string(required=True)), emptyable=True),
        default_payment_method=string(),
        footer=string(),
        rendering_options=hash_of(
            emptyable=True,
            amount_tax_display=enum("exclude_tax", "include_inclusive_tax", emptyable=True),
            template=string(),
        ),
    )


#: Every payment method type Stripe has (the fake makes cards and SEPA debits; it lists and filters any).
PAYMENT_METHOD_TYPES: tuple[str, ...] = (
    "acss_debit",
    "affirm",
    "afterpay_clearpay",
    "alipay",
    "alma",
    "amazon_pay",
    "au_becs_debit",
    "bacs_debit",
    "bancontact",
    "billie",
    "bizum",
    "blik",
    "boleto",
    "card",
    "cashapp",
    "crypto",
    "custom",
    "customer_balance",
    "eps",
    "fpx",
    "giropay",
    "grabpay",
    "ideal",
    "kakao_pay",
    "klarna",
    "konbini",
    "kr_card",
    "link",
    "mb_way",
    "mobilepay",
    "multibanco",
    "naver_pay",
    "nz_bank_account",
    "oxxo",
    "p24",
    "pay_by_bank",
    "payco",
    "paynow",
    "paypal",
    "paypay",
    "payto",
    "pix",
    "promptpay",
    "revolut_pay",
    "samsung_pay",
    "satispay",
    "scalapay",
    "sepa_debit",
    "sequra",
    "sofort",
    "sunbit",
    "swish",
    "twint",
    "upi",
    "us_bank_account",
    "wechat_pay",
    "zip",
)
COLLECTION_METHODS = ("charge_automatically", "send_invoice")
PRORATION_BEHAVIORS = ("always_invoice", "create_prorations", "none")
PAYMENT_BEHAVIORS = ("allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete")
SUBSCRIPTION_STATUSES = (
    "active",
    "all",
    "canceled",
    "ended",
    "incomplete",
    "incomplete_expired",
    "past_due",
    "paused",
    "trialing",
    "unpaid",
)
_CARD_EXPIRY = {"exp_month": integer(), "exp_year": integer()}
_PRICE_DATA_UNSUPPORTED = anything().refused()
_SUBSCRIPTION_ITEM = {
    "metadata": metadata(),
    "price": string(),
    "quantity": integer(),
    "discounts": anything(emptyable=True).refused(),
    "price_data": _PRICE_DATA_UNSUPPORTED,
    "tax_rates": array_of(string(), emptyable=True).refused(),
}
_DISCOUNTS = array_of(
    hash_of(coupon=string(), discount=string().refused(), promotion_code=string().refused()), emptyable=True
)
_SUBSCRIPTION_EVENTS = (
    "customer.discount.created",
    "customer.discount.deleted",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.trial_will_end",
    "invoice.created",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
    "invoice.payment_action_required",
    "payment_intent.created",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
    "payment_intent.processing",
    "charge.succeeded",
    "charge.failed",
    "charge.pending",
    "payment_method.attached",
    "customer.updated",
)
_PAYMENT_EVENTS = (
    "payment_intent.created",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
    "payment_intent.processing",
    "payment_intent.amount_capturable_updated",
    "charge.succeeded",
    "charge.failed",
    "charge.pending",
    "charge.updated",
    "charge.dispute.created",
    "charge.dispute.funds_withdrawn",
    "payment_method.attached",
)
_INVOICE_PAYMENT_EVENTS = (
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
    "invoice.payment_action_required",
    "customer.subscription.updated",
    "customer.updated",
    *_PAYMENT_EVENTS,
)

ROUTES: tuple[Route, ...] = (
    # balance -------------------------------------------------------------------------------------------------
    _route("GET", "/v1/balance", "balance.retrieve", platform.retrieve_balance),
    _route(
        "GET",
        "/v1/balance_transactions",
        "balance_transactions.list",
        payouts.list_balance_transactions,
        schema(LIST, created=range_filter(), currency=string(), payout=string(), source=string(), type=string()),
    ),
    _route(
        "GET",
        "/v1/balance_transactions/{id}",
        "balance_transactions.retrieve",
        payouts.retrieve_balance_transaction,
    ),
    # coupons -------------------------------------------------------------------------------------------------
    _route(
        "POST",
        "/v1/coupons",
        "coupons.create",
        discounts.create_coupon,
        schema(
            amount_off=integer(),
            currency=string(),
            duration=enum("forever", "once", "repeating"),
            duration_in_months=integer(),
            id=string(),
            max_redemptions=integer(),
            metadata=metadata(),
            name=string(),
            percent_off=decimal(),
            redeem_by=integer(),
            applies_to=anything().refused(),
            currency_options=anything().refused(),
        ),
        emits=("coupon.created",),
    ),
    _route("GET", "/v1/coupons", "coupons.list", discounts.list_coupons, schema(LIST, created=range_filter())),
    _route("GET", "/v1/coupons/{id}", "coupons.retrieve", discounts.retrieve_coupon),
    _route(
        "POST",
        "/v1/coupons/{id}",
        "coupons.update",
        discounts.update_coupon,
        schema(metadata=metadata(), name=string()),
        emits=("coupon.updated",),
    ),
    _route("DELETE", "/v1/coupons/{id}", "coupons.delete", discounts.delete_coupon, emits=("coupon.deleted",)),
    # customers -----------------------------------------------------------------------------------------------
    _route(
        "POST",
        "/v1/customers",
        "customers.create",
        customers.create_customer,
        schema(
            address=_address(emptyable=True),
            balance=integer(),
            coupon=string().between(until=DAHLIA),
            description=string(),
            email=string(),
            invoice_prefix=string(),
            invoice_settings=_invoice_settings(),
            metadata=metadata(),
            name=string(),
            next_invoice_sequence=integer(),
            payment_method=string(),
            phone=string(),
            preferred_locales=array_of(string()),
            shipping=_shipping(emptyable=True),
            source=string(),
            tax_exempt=enum("exempt", "none", "reverse", emptyable=True),
            tax_id_data=array_of(hash_of(type=enum(*tax_ids.TYPES, required=True), value=string(required=True))),
        ),
        emits=(
            "customer.created",
            "customer.discount.created",
            "customer.source.created",
            "payment_method.attached",
            "customer.tax_id.created",
            "customer.updated",
        ),
    ),
    _route(
        "GET",
        "/v1/customers",
        "customers.list",
        customers.list_customers,
        schema(LIST, created=range_filter(), email=string()),
    ),
    _route("GET", "/v1/customers/search", "customers.search", customers.search_customers, schema(SEARCH)),
    _route("GET", "/v1/customers/{id}", "customers.retrieve", customers.retrieve_customer),
    _route(
        "POST",
        "/v1/customers/{id}",
        "customers.update",
        customers.update_customer,
        schema(
            address=_address(emptyable=True),
            balance=integer(),
            coupon=string(emptyable=True).between(until=DAHLIA),
            default_source=string(),
            description=string(),
            email=string(),
            invoice_prefix=string(),
            invoice_settings=_invoice_settings(),
            metadata=metadata(),
            name=string(),
            next_invoice_sequence=integer(),
            phone=string(),
            preferred_locales=array_of(string()),
            shipping=_shipping(emptyable=True),
            source=string(),
            tax_exempt=enum("exempt", "none", "reverse", emptyable=True),
        ),
        emits=(
            "customer.updated",
            "customer.discount.created",
            "customer.discount.deleted",
            "customer.source.created",
            "payment_method.attached",
        ),
    ),
    _route(
        "DELETE",
        "/v1/customers/{id}",
        "customers.delete",
        customers.delete_customer,
        emits=("customer.subscription.deleted", "customer.deleted"),
    ),
    _route(
        "DELETE",
        "/v1/customers/{id}/discount",
        "customers.delete_discount",
        customers.delete_discount,
        emits=("customer.discount.deleted", "customer.updated"),
    ),
    _route(
        "GET",
        "/v1/customers/{id}/payment_methods",
        "customers.payment_methods.list",
        customers.list_payment_methods,
        schema(LIST, type=enum(*PAYMENT_METHOD_TYPES)),
    ),
    _route(
        "GET",
        "/v1/customers/{id}/payment_methods/{payment_method}",
        "customers.payment_methods.retrieve",
        customers.retrieve_payment_method,
    ),
    _route(
        "POST",
        "/v1/customers/{id}/balance_transactions",
        "customers.balance_transactions.create",
        balances.create_transaction,
        schema(
            amount=integer(required=True),
            currency=string(required=True),
            description=string(),
            metadata=metadata(),
        ),
        emits=("customer.updated",),
    ),
    _route(
        "GET",
        "/v1/customers/{id}/balance_transactions",
        "customers.balance_transactions.list",
        balances.list_transactions,
        schema(LIST, created=range_filter(), invoice=string()),
    ),
    _route(
        "GET",
        "/v1/customers/{id}/balance_transactions/{transaction}",
        "customers.balance_transactions.retrieve",
        balances.retrieve_transaction,
    ),
    _route(
        "POST",
        "/v1/customers/{id}/balance_transactions/{transaction}",
        "customers.balance_transactions.update",
        balances.update_transaction,
        schema(description=string(), metadata=metadata()),
    ),
    _route(
        "GET", "/v1/customers/{id}/cash_balance", "customers.cash_balance.retrieve", customers.retrieve_cash_balance
    ),
    _route(
        "POST",
        "/v1/customers/{id}/cash_balance",
        "customers.cash_balance.update",
        customers.update_cash_balance,
        schema(settings=hash_of(reconciliation_mode=enum("automatic", "manual", "merchant_default"))),
    ),
    _route(
        "POST",
        "/v1/customers/{id}/funding_instructions",
        "customers.funding_instructions.create",
        customers.create_funding_instructions,
        schema(
            bank_transfer=hash_of(
                required=True,
                eu_bank_transfer=hash_of(country=string(required=True)),
                requested_address_types=array_of(enum("iban", "sort_code", "spei", "zengin")),
                type=enum(
                    "eu_bank_transfer",
                    "gb_bank_transfer",
                    "jp_bank_transfer",
                    "mx_bank_transfer",
                    "us_bank_transfer",
                    required=True,
                ),
            ),
            currency=string(required=True),
            funding_type=enum("bank_transfer", required=True),
        ),
    ),
    _route(
        "POST",
        "/v1/customers/{id}/tax_ids",
        "customers.tax_ids.create",
        tax_ids.create_tax_id,
        schema(type=enum(*tax_ids.TYPES, required=True), value=string(required=True)),
        emits=("customer.tax_id.created",),
    ),
    _route("GET", "/v1/customers/{id}/tax_ids", "customers.tax_ids.list", tax_ids.list_tax_ids, schema(LIST)),
    _route("GET", "/v1/customers/{id}/tax_ids/{tax_id}", "customers.tax_ids.retrieve", tax_ids.retrieve_tax_id),
    _route(
        "DELETE",
        "/v1/customers/{id}/tax_ids/{tax_id}",
        "customers.tax_ids.delete",
        tax_ids.delete_tax_id,
        emits=("customer.tax_id.deleted",),
    ),
    _route(
        "POST",
        "/v1/customers/{id}/sources",
        "customers.payment_sources.create",
        methods.create_source,
        schema(metadata=metadata(), source=string(required=True), validate=boolean(ignored=True)),
        emits=("customer.source.created", "customer.updated"),
    ),
    _route(
        "GET",
        "/v1/customers/{id}/sources",
        "customers.payment_sources.list",
        methods.list_sources,
        schema(LIST, object=string()),
    ),
    _route("GET", "/v1/customers/{id}/sources/{source}", "customers.payment_sources.retrieve", methods.retrieve_source),
    _route(
        "POST",
        "/v1/customers/{id}/sources/{source}",
        "customers.payment_sources.update",
        methods.update_source,
        schema(
            account_holder_name=string(),
            account_holder_type=enum("company", "individual"),
            address_city=string(),
            address_country=string(),
            address_line1=string(),
            address_line2=string(),
            address_state=string(),
            address_zip=string(),
            exp_month=string(),
            exp_year=string(),
            metadata=metadata(),
            name=string(),
        ),
        emits=("customer.source.updated",),
    ),
    _route(
        "POST",
        "/v1/customers/{id}/sources/{source}/verify",
        "customers.payment_sources.verify",
        methods.verify_source,
        schema(amounts=array_of(integer())),
        emits=("customer.source.updated",),
    ),
    _route(
        "DELETE",
        "/v1/customers/{id}/sources/{source}",
        "customers.payment_sources.delete",
        methods.delete_source,
        emits=("customer.source.deleted", "customer.updated"),
    ),
    # payment methods -----------------------------------------------------------------------------------------
    _route(
        "POST",
        "/v1/payment_methods",
        "payment_methods.create",
        methods.create_payment_method,
        schema(
            billing_details=_billing_details(),
            card=hash_of(_CARD_EXPIRY, cvc=string(), number=string(), token=string()),
            customer=string(),
            metadata=metadata(),
            sepa_debit=hash_of(iban=string(required=True)),
            type=enum(*PAYMENT_METHOD_TYPES),
        ),
        emits=("payment_method.attached",),
    ),
    _route(
        "GET",
        "/v1/payment_methods",
        "payment_methods.list",
        methods.list_payment_methods,
        schema(LIST, customer=string(), type=enum(*PAYMENT_METHOD_TYPES)),
    ),
    _route("GET", "/v1/payment_methods/{id}", "payment_methods.retrieve", methods.retrieve_payment_method),
    _route(
        "POST",
        "/v1/payment_methods/{id}",
        "payment_methods.update",
        methods.update_payment_method,
        schema(
            billing_details=_billing_details(),
            card=hash_of(_CARD_EXPIRY),
            metadata=metadata(),
            allow_redisplay=enum("always", "limited", "unspecified", ignored=True),
        ),
        emits=("payment_method.updated",),
    ),
    _route(
        "POST",
        "/v1/payment_methods/{id}/attach",
        "payment_methods.attach",
        methods.attach_payment_method,
        schema(customer=string()),
        emits=("payment_method.attached",),
    ),
    _route(
        "POST",
        "/v1/payment_methods/{id}/detach",
        "payment_methods.detach",
        methods.detach_payment_method,
        emits=("payment_method.detached", "customer.updated"),
    ),
    # products and prices -------------------------------------------------------------------------------------
    _route(
        "POST",
        "/v1/products",
        "products.create",
        catalog.create_product,
        schema(
            active=boolean(),
            description=string(),
            id=string(),
            images=array_of(string()),
            metadata=metadata(),
            name=string(required=True),
            shippable=boolean(),
            statement_descriptor=string(),
            tax_code=string(),
            unit_label=string(),
            url=string(),
        ),
        emits=("product.created",),
    ),
    _route(
        "GET",
        "/v1/products",
        "products.list",
        catalog.list_products,
        schema(
            LIST,
            active=boolean(),
            created=range_filter(),
            ids=array_of(string()),
            shippable=boolean(),
            url=string(),
        ),
    ),
    _route("GET", "/v1/products/search", "products.search", catalog.search_products, schema(SEARCH)),
    _route("GET", "/v1/products/{id}", "products.retrieve", catalog.retrieve_product),
    _route(
        "POST",
        "/v1/products/{id}",
        "products.update",
        catalog.update_product,
        schema(
            active=boolean(),
            default_price=string(),
            description=string(emptyable=True),
            images=array_of(string(), emptyable=True),
            metadata=metadata(),
            name=string(),
            shippable=boolean(),
            statement_descriptor=string(),
            tax_code=string(emptyable=True),
            unit_label=string(emptyable=True),
            url=string(emptyable=True),
        ),
        emits=("product.updated",),
    ),
    _route("DELETE", "/v1/products/{id}", "products.delete", catalog.delete_product, emits=("product.deleted",)),
    _route(
        "POST",
        "/v1/prices",
        "prices.create",
        catalog.create_price,
        schema(
            active=boolean(),
            currency=string(required=True),
            lookup_key=string(),
            metadata=metadata(),
            nickname=string(),
            product=string(),
            product_data=hash_of(
                active=boolean(),
                id=string(),
                metadata=metadata(),
                name=string(required=True),
                statement_descriptor=string(),
                tax_code=string(),
                unit_label=string(),
            ),
            recurring=hash_of(
                interval=enum("day", "month", "week", "year", required=True),
                interval_count=integer(),
                trial_period_days=integer(),
                usage_type=enum("licensed", "metered"),
            ),
            tax_behavior=enum("exclusive", "inclusive", "unspecified"),
            transfer_lookup_key=boolean(),
            unit_amount=integer(),
        ),
        emits=("price.created", "plan.created", "product.created", "price.updated"),
    ),
    _route(
        "GET",
        "/v1/prices",
        "prices.list",
        catalog.list_prices,
        schema(
            LIST,
            active=boolean(),
            created=range_filter(),
            currency=string(),
            lookup_keys=array_of(string()),
            product=string(),
            type=enum("one_time", "recurring"),
        ),
    ),
    _route("GET", "/v1/prices/search", "prices.search", catalog.search_prices, schema(SEARCH)),
    _route("GET", "/v1/prices/{id}", "prices.retrieve", catalog.retrieve_price),
    _route(
        "POST",
        "/v1/prices/{id}",
        "prices.update",
        catalog.update_price,
        schema(
            active=boolean(),
            lookup_key=string(),
            metadata=metadata(),
            nickname=string(),
            tax_behavior=enum("exclusive", "inclusive", "unspecified"),
            transfer_lookup_key=boolean(),
        ),
        emits=("price.updated", "plan.updated"),
    ),
    # subscriptions -------------------------------------------------------------------------------------------
    _route(
        "POST",
        "/v1/subscriptions",
        "subscriptions.create",
        subscriptions.create_subscription,
        schema(
            cancel_at_period_end=boolean(),
            collection_method=enum(*COLLECTION_METHODS),
            customer=string(required=True),
            days_until_due=integer(),
            default_payment_method=string(),
            description=string(),
            items=array_of(hash_of(_SUBSCRIPTION_ITEM), required=True),
            metadata=metadata(),
            payment_behavior=enum(*PAYMENT_BEHAVIORS),
            trial_end=integer(also=("now",)),
            trial_period_days=integer(),
            trial_settings=hash_of(
                end_behavior=hash_of(
                    required=True, missing_payment_method=enum("cancel", "create_invoice", "pause", required=True)
                )
            ),
            add_invoice_items=anything().refused(),
            automatic_tax=anything().refused(),
            coupon=string().between(until=DAHLIA),
            discounts=_DISCOUNTS,
            default_tax_rates=array_of(string(), emptyable=True).refused(),
            off_session=boolean(ignored=True),
            proration_behavior=enum(*PRORATION_BEHAVIORS, ignored=True),
        ),
        emits=_SUBSCRIPTION_EVENTS,
    ),
    _route(
        "GET",
        "/v1/subscriptions",
        "subscriptions.list",
        subscriptions.list_subscriptions,
        schema(
            LIST,
            collection_method=enum(*COLLECTION_METHODS),
            created=range_filter(),
            customer=string(),
            price=string(),
            status=enum(*SUBSCRIPTION_STATUSES),
        ),
    ),
    _route(
        "GET", "/v1/subscriptions/search", "subscriptions.search", subscriptions.search_subscriptions, schema(SEARCH)
    ),
    _route("GET", "/v1/subscriptions/{id}", "subscriptions.retrieve", subscriptions.retrieve_subscription),
    _route(
        "POST",
        "/v1/subscriptions/{id}",
        "subscriptions.update",
        subscriptions.update_subscription,
        schema(
            cancel_at_period_end=boolean(),
            collection_method=enum(*COLLECTION_METHODS),
            days_until_due=integer(),
            default_payment_method=string(),
            description=string(emptyable=True),
            items=array_of(hash_of(_SUBSCRIPTION_ITEM, id=string(), deleted=boolean(), clear_usage=boolean())),
            metadata=metadata(),
            trial_end=integer(also=("now",)),
            add_invoice_items=anything().refused(),
            coupon=string(emptyable=True).between(until=DAHLIA),
            discounts=_DISCOUNTS,
            pause_collection=anything(emptyable=True).refused(),
            off_session=boolean(ignored=True),
            payment_behavior=enum(*PAYMENT_BEHAVIORS, ignored=True),
            proration_behavior=enum(*PRORATION_BEHAVIORS, ignored=True),
            proration_date=integer(ignored=True),
        ),
        emits=_SUBSCRIPTION_EVENTS,
    ),
    _route(
        "DELETE",
        "/v1/subscriptions/{id}",
        "subscriptions.cancel",
        subscriptions.cancel_subscription,
        schema(
            cancellation_details=hash_of(
                comment=string(emptyable=True),
                feedback=enum(
                    "customer_service",
                    "low_quality",
                    "missing_features",
                    "other",
                    "switched_service",
                    "too_complex",
                    "too_expensive",
                    "unused",
                    emptyable=True,
                ),
            ),
            invoice_now=boolean(ignored=True),
            prorate=boolean(ignored=True),
        ),
        emits=("customer.subscription.deleted",),
    ),
    _route(
        "POST",
        "/v1/subscriptions/{id}/resume",
        "subscriptions.resume",
        subscriptions.resume_subscription,
        schema(
            billing_cycle_anchor=enum("now", "unchanged", ignored=True),
            proration_behavior=enum(*PRORATION_BEHAVIORS, ignored=True),
            proration_date=integer(ignored=True),
        ),
        emits=("customer.subscription.resumed", *_SUBSCRIPTION_EVENTS),
    ),
    _route(
        "DELETE",
        "/v1/subscriptions/{id}/discount",
        "subscriptions.delete_discount",
        subscriptions.delete_discount,
        emits=("customer.discount.deleted", "customer.subscription.updated"),
    ),
    _route(
        "GET",
        "/v1/subscription_items",
        "subscription_items.list",
        subscriptions.list_subscription_items,
        schema(LIST, subscription=string(required=True)),
    ),
    _route(
        "GET", "/v1/subscription_items/{id}", "subscription_items.retrieve", subscriptions.retrieve_subscription_item
    ),
    # invoice items, invoices, credit notes -------------------------------------------------------------------
    _route(
        "POST",
        "/v1/invoiceitems",
        "invoice_items.create",
        invoice_items.create_invoiceitem,
        schema(
            amount=integer(),
            currency=string(),
            customer=string(),
            description=string(),
            metadata=metadata(),
            period=hash_of(end=integer(required=True), start=integer(required=True)),
            price=string().between(until=DAHLIA),
            pricing=hash_of(price=string()).between(since=DAHLIA),
            quantity=integer(),
            subscription=string(),
            unit_amount=integer().between(until=DAHLIA),
            price_data=_PRICE_DATA_UNSUPPORTED,
        ),
        emits=("invoiceitem.created",),
    ),
    _route(
        "GET",
        "/v1/invoiceitems",
        "invoice_items.list",
        invoice_items.list_invoiceitems,
        schema(LIST, created=range_filter(), customer=string(), invoice=string(), pending=boolean()),
    ),
    _route("GET", "/v1/invoiceitems/{id}", "invoice_items.retrieve", invoice_items.retrieve_invoiceitem),
    _route(
        "POST",
        "/v1/invoiceitems/{id}",
        "invoice_items.update",
        invoice_items.update_invoiceitem,
        schema(
            amount=integer(),
            description=string(),
            metadata=metadata(),
            period=hash_of(end=integer(required=True), start=integer(required=True)),
            quantity=integer(),
        ),
        emits=("invoiceitem.updated",),
    ),
    _route(
        "DELETE",
        "/v1/invoiceitems/{id}",
        "invoice_items.delete",
        invoice_items.delete_invoiceitem,
        emits=("invoiceitem.deleted",),
    ),
    _route(
        "POST",
        "/v1/invoices",
        "invoices.create",
        invoices.create_invoice,
        schema(
            auto_advance=boolean(),
            collection_method=enum(*COLLECTION_METHODS),
            currency=string(),
            customer=string(),
            days_until_due=integer(),
            default_payment_method=string(),
            description=string(),
            footer=string(),
            metadata=metadata(),
            pending_invoice_items_behavior=enum("exclude", "include"),
            subscription=string(),
        ),
        emits=("invoice.created", "customer.discount.deleted"),
    ),
    _route(
        "GET",
        "/v1/invoices",
        "invoices.list",
        invoices.list_invoices,
        schema(
            LIST,
            collection_method=enum(*COLLECTION_METHODS),
            created=range_filter(),
            customer=string(),
            status=enum("draft", "open", "paid", "uncollectible", "void"),
            subscription=string(),
        ),
    ),
    _route("GET", "/v1/invoices/search", "invoices.search", invoices.search_invoices, schema(SEARCH)),
    _route("GET", "/v1/invoices/{id}", "invoices.retrieve", invoices.retrieve_invoice),
    _route(
        "POST",
        "/v1/invoices/{id}",
        "invoices.update",
        invoices.update_invoice,
        schema(
            auto_advance=boolean(),
            collection_method=enum(*COLLECTION_METHODS),
            days_until_due=integer(),
            default_payment_method=string(),
            description=string(),
            footer=string(),
            metadata=metadata(),
        ),
        emits=("invoice.updated",),
    ),
    _route("DELETE", "/v1/invoices/{id}", "invoices.delete", invoices.delete_invoice, emits=("invoice.deleted",)),
    _route("GET", "/v1/invoices/{id}/lines", "invoices.line_items.list", invoices.list_invoice_lines, schema(LIST)),
    _route(
        "POST",
        "/v1/invoices/{id}/lines/{line}",
        "invoices.line_items.update",
        invoices.update_invoice_line,
        schema(description=string(), metadata=metadata()),
        emits=("invoice.updated",),
    ),
    _route(
        "POST",
        "/v1/invoices/{id}/finalize",
        "invoices.finalize_invoice",
        invoices.finalize_invoice,
        schema(auto_advance=boolean()),
        emits=("invoice.finalized", "invoice.paid", "invoice.payment_succeeded", "customer.updated"),
    ),
    _route(
        "POST",
        "/v1/invoices/{id}/pay",
        "invoices.pay",
        invoices.pay_invoice,
        schema(
            paid_out_of_band=boolean(),
            payment_method=string(),
            forgive=boolean(ignored=True),
            off_session=boolean(ignored=True),
        ),
        emits=_INVOICE_PAYMENT_EVENTS,
    ),
    _route(
        "POST",
        "/v1/invoices/{id}/void",
        "invoices.void_invoice",
        invoices.void_invoice,
        emits=("invoice.voided", "invoice.updated"),
    ),
    _route(
        "POST",
        "/v1/invoices/{id}/mark_uncollectible",
        "invoices.mark_uncollectible",
        invoices.mark_uncollectible,
        emits=("invoice.marked_uncollectible", "invoice.updated"),
    ),
    _route(
        "POST",
        "/v1/invoices/{id}/send",
        "invoices.send_invoice",
        invoices.send_invoice,
        emits=("invoice.finalized", "invoice.sent", "invoice.paid", "invoice.payment_succeeded", "customer.updated"),
    ),
    _route(
        "POST",
        "/v1/credit_notes",
        "credit_notes.create",
        credit_notes.create_credit_note,
        schema(
            amount=integer(),
            invoice=string(required=True),
            lines=array_of(
                hash_of(
                    amount=integer(),
                    description=string(),
                    invoice_line_item=string(),
                    quantity=integer(),
                    type=enum("custom_line_item", "invoice_line_item", required=True),
                    unit_amount=integer(),
                )
            ),
            memo=string(),
            metadata=metadata(),
            reason=enum("duplicate", "fraudulent", "order_change", "product_unsatisfactory"),
        ),
        emits=("credit_note.created", "invoice.updated"),
    ),
    _route(
        "GET",
        "/v1/credit_notes",
        "credit_notes.list",
        credit_notes.list_credit_notes,
        schema(LIST, created=range_filter(), customer=string(), invoice=string()),
    ),
    _route("GET", "/v1/credit_notes/{id}", "credit_notes.retrieve", credit_notes.retrieve_credit_note),
    _route(
        "POST",
        "/v1/credit_notes/{id}",
        "credit_notes.update",
        credit_notes.update_credit_note,
        schema(memo=string(), metadata=metadata()),
        emits=("credit_note.updated",),
    ),
    _route(
        "POST",
        "/v1/credit_notes/{id}/void",
        "credit_notes.void_credit_note",
        credit_notes.void_credit_note,
        emits=("credit_note.voided", "invoice.updated"),
    ),
    # payment intents and charges -----------------------------------------------------------------------------
    _route(
        "POST",
        "/v1/payment_intents",
        "payment_intents.create",
        payments.create_payment_intent,
        schema(
            amount=integer(required=True),
            capture_method=enum("automatic", "automatic_async", "manual"),
            confirm=boolean(),
            currency=string(required=True),
            customer=string(),
            description=string(),
            metadata=metadata(),
            payment_method=string(),
            payment_method_types=array_of(string()).between(until=ENDIVE),
            allowed_payment_method_types=array_of(string()).between(since=ENDIVE),
            receipt_email=string(),
            shipping=_shipping(carrier=True),
            automatic_payment_methods=hash_of(
                ignored=True, allow_redirects=enum("always", "never"), enabled=boolean(required=True)
            ),
            off_session=anything(ignored=True),
            setup_future_usage=enum("off_session", "on_session", ignored=True),
            statement_descriptor=string(ignored=True),
            statement_descriptor_suffix=string(ignored=True),
        ),
        emits=_PAYMENT_EVENTS,
    ),
    _route(
        "GET",
        "/v1/payment_intents",
        "payment_intents.list",
        payments.list_payment_intents,
        schema(LIST, created=range_filter(), customer=string()),
    ),
    _route(
        "GET", "/v1/payment_intents/search", "payment_intents.search", payments.search_payment_intents, schema(SEARCH)
    ),
    _route("GET", "/v1/payment_intents/{id}", "payment_intents.retrieve", payments.retrieve_payment_intent),
    _route(
        "POST",
        "/v1/payment_intents/{id}",
        "payment_intents.update",
        payments.update_payment_intent,
        schema(
            amount=integer(),
            currency=string(),
            customer=string(),
            description=string(),
            metadata=metadata(),
            payment_method=string(),
            receipt_email=string(emptyable=True),
            shipping=_shipping(emptyable=True, carrier=True),
            setup_future_usage=enum("off_session", "on_session", emptyable=True, ignored=True),
            statement_descriptor=string(ignored=True),
            statement_descriptor_suffix=string(ignored=True),
        ),
    ),
    _route(
        "POST",
        "/v1/payment_intents/{id}/confirm",
        "payment_intents.confirm",
        payments.confirm_payment_intent,
        schema(
            payment_method=string(),
            receipt_email=string(emptyable=True),
            off_session=anything(ignored=True),
            return_url=string(ignored=True),
        ),
        emits=_INVOICE_PAYMENT_EVENTS,
    ),
    _route(
        "POST",
        "/v1/payment_intents/{id}/capture",
        "payment_intents.capture",
        payments.capture_payment_intent,
        schema(amount_to_capture=integer(), metadata=metadata()),
        emits=("charge.captured", "payment_intent.succeeded"),
    ),
    _route(
        "POST",
        "/v1/payment_intents/{id}/cancel",
        "payment_intents.cancel",
        payments.cancel_payment_intent,
        schema(cancellation_reason=enum("abandoned", "duplicate", "fraudulent", "requested_by_customer")),
        emits=("payment_intent.canceled", "charge.refunded"),
    ),
    _route(
        "GET",
        "/v1/charges",
        "charges.list",
        payments.list_charges,
        schema(LIST, created=range_filter(), customer=string(), payment_intent=string()),
    ),
    _route("GET", "/v1/charges/search", "charges.search", payments.search_charges, schema(SEARCH)),
    _route("GET", "/v1/charges/{id}", "charges.retrieve", payments.retrieve_charge),
    _route(
        "POST",
        "/v1/charges/{id}",
        "charges.update",
        payments.update_charge,
        schema(
            description=string(),
            fraud_details=hash_of(user_report=enum("fraudulent", "safe", required=True, emptyable=True)),
            metadata=metadata(),
            receipt_email=string(),
            shipping=_shipping(carrier=True),
        ),
        emits=("charge.updated",),
    ),
    # refunds, disputes, payouts ------------------------------------------------------------------------------
    _route(
        "POST",
        "/v1/refunds",
        "refunds.create",
        refunds.create_refund,
        schema(
            amount=integer(),
            charge=string(),
            metadata=metadata(),
            payment_intent=string(),
            reason=enum("duplicate", "fraudulent", "requested_by_customer"),
        ),
        emits=("charge.refunded",),
    ),
    _route(
        "GET",
        "/v1/refunds",
        "refunds.list",
        refunds.list_refunds,
        schema(LIST, charge=string(), created=range_filter(), payment_intent=string()),
    ),
    _route("GET", "/v1/refunds/{id}", "refunds.retrieve", refunds.retrieve_refund),
    _route(
        "POST",
        "/v1/refunds/{id}",
        "refunds.update",
        refunds.update_refund,
        schema(metadata=metadata()),
        emits=("charge.refund.updated",),
    ),
    _route("POST", "/v1/refunds/{id}/cancel", "refunds.cancel", refunds.cancel_refund),
    _route(
        "GET",
        "/v1/disputes",
        "disputes.list",
        disputes.list_disputes,
        schema(LIST, charge=string(), created=range_filter(), payment_intent=string()),
    ),
    _route("GET", "/v1/disputes/{id}", "disputes.retrieve", disputes.retrieve_dispute),
    _route(
        "POST",
        "/v1/disputes/{id}",
        "disputes.update",
        disputes.update_dispute,
        schema(
            evidence=hash_of({name: string() for name in EVIDENCE_FIELDS}),
            metadata=metadata(),
            submit=boolean(),
        ),
        emits=("charge.dispute.updated",),
    ),
    _route(
        "POST",
        "/v1/disputes/{id}/close",
        "disputes.close",
        disputes.close_dispute,
        emits=("charge.dispute.closed",),
    ),
    _route(
        "POST",
        "/v1/payouts",
        "payouts.create",
        payouts.create_payout,
        schema(
            amount=integer(required=True),
            currency=string(required=True),
            description=string(),
            metadata=metadata(),
            method=enum("instant", "standard"),
            statement_descriptor=string(),
        ),
        emits=("payout.created",),
    ),
    _route(
        "GET",
        "/v1/payouts",
        "payouts.list",
        payouts.list_payouts,
        schema(LIST, created=range_filter(), status=string()),
    ),
    _route("GET", "/v1/payouts/{id}", "payouts.retrieve", payouts.retrieve_payout),
    _route(
        "POST",
        "/v1/payouts/{id}",
        "payouts.update",
        payouts.update_payout,
        schema(metadata=metadata()),
        emits=("payout.updated",),
    ),
    _route("POST", "/v1/payouts/{id}/cancel", "payouts.cancel", payouts.cancel_payout, emits=("payout.canceled",)),
    # checkout and the billing portal -------------------------------------------------------------------------
    _route(
        "POST",
        "/v1/checkout/sessions",
        "checkout.sessions.create",
        checkout.create_checkout_session,
        schema(
            cancel_url=string(),
            client_reference_id=string(),
            customer=string(),
            customer_email=string(),
            line_items=array_of(
                hash_of(
                    metadata=metadata(),
                    price=string(),
                    quantity=integer(),
                    adjustable_quantity=anything().refused(),
                    price_data=_PRICE_DATA_UNSUPPORTED,
                )
            ),
            metadata=metadata(),
            mode=enum("payment", "setup", "subscription"),
            payment_method_types=array_of(string()).between(until=ENDIVE),
            allowed_payment_method_types=array_of(string()).between(since=ENDIVE),
            subscription_data=hash_of(
                metadata=metadata(),
                trial_period_days=integer(),
                description=string(ignored=True),
                proration_behavior=enum("create_prorations", "none", ignored=True),
            ),
            success_url=string(),
            allow_promotion_codes=boolean(ignored=True),
            billing_address_collection=enum("auto", "required", ignored=True),
            discounts=anything().refused(),
            locale=string(ignored=True),
        ),
    ),
    _route(
        "GET",
        "/v1/checkout/sessions",
        "checkout.sessions.list",
        checkout.list_checkout_sessions,
        schema(
            LIST,
            created=range_filter(),
            customer=string(),
            payment_intent=string(),
            status=enum("complete", "expired", "open"),
            subscription=string(),
        ),
    ),
    _route("GET", "/v1/checkout/sessions/{id}", "checkout.sessions.retrieve", checkout.retrieve_checkout_session),
    _route(
        "POST",
        "/v1/checkout/sessions/{id}/expire",
        "checkout.sessions.expire",
        checkout.expire_checkout_session,
        emits=("checkout.session.expired",),
    ),
    _route(
        "GET",
        "/v1/checkout/sessions/{id}/line_items",
        "checkout.sessions.line_items.list",
        checkout.list_line_items,
        schema(LIST),
    ),
    _route("GET", "/v1/payment_pages/{id}", "payment_pages.retrieve", checkout.retrieve_checkout_session),
    _route(
        "POST",
        "/v1/payment_pages/{id}/confirm",
        "payment_pages.confirm",
        checkout.complete_checkout_session,
        schema(payment_method=string(), expected_amount=integer()),
        emits=(
            "customer.created",
            "checkout.session.completed",
            "checkout.session.async_payment_succeeded",
            "checkout.session.async_payment_failed",
            *_SUBSCRIPTION_EVENTS,
            *_PAYMENT_EVENTS,
        ),
    ),
    _route(
        "POST",
        "/v1/billing_portal/sessions",
        "billing_portal.sessions.create",
        platform.create_portal_session,
        schema(
            customer=string(required=True),
            return_url=string(),
            configuration=string(ignored=True),
            locale=string(ignored=True),
        ),
    ),
    # usage -----------------------------------------------------------------------------------------------------
    _route(
        "POST",
        "/v1/billing/meters",
        "billing.meters.create",
        platform.create_meter,
        schema(
            customer_mapping=hash_of(event_payload_key=string(required=True), type=enum("by_id", required=True)),
            default_aggregation=hash_of(required=True, formula=enum("count", "last", "sum", required=True)),
            display_name=string(required=True),
            event_name=string(required=True),
            value_settings=hash_of(event_payload_key=string(required=True)),
        ),
    ),
    _route(
        "GET",
        "/v1/billing/meters",
        "billing.meters.list",
        platform.list_meters,
        schema(LIST, status=enum("active", "inactive")),
    ),
    _route("GET", "/v1/billing/meters/{id}", "billing.meters.retrieve", platform.retrieve_meter),
    _route(
        "POST",
        "/v1/billing/meters/{id}",
        "billing.meters.update",
        platform.update_meter,
        schema(display_name=string()),
    ),
    _route(
        "POST",
        "/v1/billing/meter_events",
        "billing.meter_events.create",
        platform.create_meter_event,
        schema(
            event_name=string(required=True),
            identifier=string(),
            payload=metadata(),
            timestamp=integer(),
        ),
        emits=("v1.billing.meter.no_meter_found", "v1.billing.meter.error_report_triggered"),
    ),
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
        schema(
            events=array_of(
                hash_of(
                    event_name=string(required=True),
                    identifier=string(),
                    payload=metadata(),
                    timestamp=string(),
                ),
                required=True,
            )
        ),
        emits=("v1.billing.meter.no_meter_found", "v1.billing.meter.error_report_triggered"),
    ),
    # webhook endpoints and events ----------------------------------------------------------------------------
    _route(
        "POST",
        "/v1/webhook_endpoints",
        "webhook_endpoints.create",
        platform.create_webhook_endpoint,
        schema(
            api_version=string(),
            connect=boolean(ignored=True),
            description=string(emptyable=True),
            enabled_events=array_of(string(), required=True),
            metadata=metadata(),
            url=string(required=True),
        ),
    ),
    _route(
        "GET",
        "/v1/webhook_endpoints",
        "webhook_endpoints.list",
        platform.list_webhook_endpoints,
        schema(LIST),
    ),
    _route("GET", "/v1/webhook_endpoints/{id}", "webhook_endpoints.retrieve", platform.retrieve_webhook_endpoint),
    _route(
        "POST",
        "/v1/webhook_endpoints/{id}",
        "webhook_endpoints.update",
        platform.update_webhook_endpoint,
        schema(
            description=string(emptyable=True),
            disabled=boolean(),
            enabled_events=array_of(string()),
            metadata=metadata(),
            url=string(),
        ),
    ),
    _route("DELETE", "/v1/webhook_endpoints/{id}", "webhook_endpoints.delete", platform.delete_webhook_endpoint),
    _route(
        "GET",
        "/v1/events",
        "events.list",
        platform.list_events_op,
        schema(LIST, created=range_filter(), type=string(), types=array_of(string())),
    ),
    _route("GET", "/v1/events/{id}", "events.retrieve", platform.retrieve_event),
    # Connect -------------------------------------------------------------------------------------------------
    _route(
        "POST",
        "/v1/accounts",
        "accounts.create",
        platform.create_account,
        schema(
            country=string(),
            email=string(),
            metadata=metadata(),
            type=enum("custom", "express", "standard"),
        ),
    ),
    _route("GET", "/v1/accounts/{id}", "accounts.retrieve", platform.retrieve_account),
    _route(
        "DELETE",
        "/v1/accounts/{id}",
        "accounts.delete",
        platform.delete_account,
        emits=("account.application.deauthorized",),
    ),
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
    ("*", "/v1/quotes", "no quotes"),
    ("POST", "/v1/invoices/create_preview", "no previews of upcoming invoices"),
    ("*", "/v1/customers/{id}/cash_balance_transactions", "no cash balances (see customers.cash_balance.*)"),
    ("*", "/v1/tax_ids", "account tax ids; a customer's are customers.tax_ids.*"),
    ("*", "/v1/billing_portal/configurations", "one built-in portal configuration"),
    ("*", "/v1/billing/meter_event_summaries, /v1/billing/meters/{id}/deactivate", "meters are not aggregated"),
    ("*", "/v1/files, /v1/sources, /v1/transfers, /v1/application_fees", "outside billing"),
    ("*", "/v1/accounts/{id}/*, /v1/account", "Connect beyond creating and deleting accounts"),
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


__all__ = ["METHOD_NAMES", "NOT_SERVED", "PAYMENT_METHOD_TYPES", "ROUTES", "Match", "Route", "resolve"]
