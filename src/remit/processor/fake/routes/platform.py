"""Checkout and the billing portal, billing meters and usage, webhook endpoints and events, Connect accounts."""

from __future__ import annotations

from remit.processor.fake.ops import accounts, checkout, external_accounts, persons, platform, shipping
from remit.processor.fake.ops.platform import CAPABILITIES
from remit.processor.fake.routes.declarations import (
    PAYMENT_EVENTS,
    PRICE_DATA_UNSUPPORTED,
    SUBSCRIPTION_EVENTS,
    address,
)
from remit.processor.fake.routes.route import Route, route
from remit.processor.fake.schema import (
    LIST,
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
from remit.processor.fake.versions import ENDIVE

_BOUND = hash_of(unit=enum(*shipping.DELIVERY_UNITS, required=True), value=integer(required=True))
#: What makes a shipping rate (``POST /v1/shipping_rates``, a checkout option's ``shipping_rate_data``).
_SHIPPING_RATE = {
    "display_name": string(required=True),
    "delivery_estimate": hash_of(maximum=_BOUND, minimum=_BOUND),
    "fixed_amount": hash_of(
        amount=integer(required=True), currency=string(required=True), currency_options=anything().refused()
    ),
    "metadata": metadata(),
    "tax_behavior": enum(*shipping.TAX_BEHAVIORS),
    "type": enum("fixed_amount"),
    "tax_code": anything().refused(),
}
_SHIPPING_RATE_DATA = hash_of(_SHIPPING_RATE)

_PERSON = {
    "address": address(),
    "dob": hash_of(
        day=integer(required=True), month=integer(required=True), year=integer(required=True), emptyable=True
    ),
    "email": string(),
    "first_name": string(),
    "gender": string(),
    "id_number": string(),
    "last_name": string(),
    "maiden_name": string(),
    "metadata": metadata(),
    "nationality": string(),
    "phone": string(),
    "relationship": hash_of(
        {role: boolean() for role in persons.ROLES}, percent_ownership=decimal(), title=string(emptyable=True)
    ),
    "ssn_last_4": string(),
    "documents": anything().refused(),
    "verification": anything().refused(),
}

_CAPABILITIES = hash_of({name: hash_of(requested=boolean()) for name in CAPABILITIES})

ROUTES: tuple[Route, ...] = (
    # checkout and the billing portal -------------------------------------------------------------------------
    route(
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
                    price_data=PRICE_DATA_UNSUPPORTED,
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
            automatic_tax=anything().refused(),
            shipping_address_collection=anything().refused(),
            shipping_options=array_of(hash_of(shipping_rate=string(), shipping_rate_data=_SHIPPING_RATE_DATA)),
        ),
    ),
    route(
        "POST",
        "/v1/shipping_rates",
        "shipping_rates.create",
        shipping.create_shipping_rate,
        schema(_SHIPPING_RATE),
    ),
    route(
        "GET",
        "/v1/shipping_rates",
        "shipping_rates.list",
        shipping.list_shipping_rates,
        schema(LIST, active=boolean(), created=range_filter(), currency=string()),
    ),
    route("GET", "/v1/shipping_rates/{id}", "shipping_rates.retrieve", shipping.retrieve_shipping_rate),
    route(
        "POST",
        "/v1/shipping_rates/{id}",
        "shipping_rates.update",
        shipping.update_shipping_rate,
        schema(
            active=boolean(),
            metadata=metadata(),
            tax_behavior=enum(*shipping.TAX_BEHAVIORS),
            fixed_amount=anything().refused(),
        ),
    ),
    route(
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
    route("GET", "/v1/checkout/sessions/{id}", "checkout.sessions.retrieve", checkout.retrieve_checkout_session),
    route(
        "POST",
        "/v1/checkout/sessions/{id}/expire",
        "checkout.sessions.expire",
        checkout.expire_checkout_session,
        emits=("checkout.session.expired",),
    ),
    route(
        "GET",
        "/v1/checkout/sessions/{id}/line_items",
        "checkout.sessions.line_items.list",
        checkout.list_line_items,
        schema(LIST),
    ),
    route("GET", "/v1/payment_pages/{id}", "payment_pages.retrieve", checkout.retrieve_checkout_session),
    route(
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
            *SUBSCRIPTION_EVENTS,
            *PAYMENT_EVENTS,
        ),
    ),
    route(
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
    route(
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
    route(
        "GET",
        "/v1/billing/meters",
        "billing.meters.list",
        platform.list_meters,
        schema(LIST, status=enum("active", "inactive")),
    ),
    route(
        "GET",
        "/v1/billing/meters/{id}/event_summaries",
        "billing.meters.event_summaries.list",
        platform.list_meter_event_summaries,
        schema(
            LIST,
            customer=string(required=True),
            start_time=integer(required=True),
            end_time=integer(required=True),
            value_grouping_window=enum("day", "hour"),
        ),
    ),
    route("GET", "/v1/billing/meters/{id}", "billing.meters.retrieve", platform.retrieve_meter),
    route(
        "POST",
        "/v1/billing/meters/{id}",
        "billing.meters.update",
        platform.update_meter,
        schema(display_name=string()),
    ),
    route(
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
    route(
        "POST",
        "/v2/billing/meter_event_session",
        "v2.billing.meter_event_session.create",
        platform.create_meter_event_session,
    ),
    route(
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
    route(
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
    route(
        "GET",
        "/v1/webhook_endpoints",
        "webhook_endpoints.list",
        platform.list_webhook_endpoints,
        schema(LIST),
    ),
    route("GET", "/v1/webhook_endpoints/{id}", "webhook_endpoints.retrieve", platform.retrieve_webhook_endpoint),
    route(
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
    route("DELETE", "/v1/webhook_endpoints/{id}", "webhook_endpoints.delete", platform.delete_webhook_endpoint),
    route(
        "GET",
        "/v1/events",
        "events.list",
        platform.list_events_op,
        schema(LIST, created=range_filter(), type=string(), types=array_of(string())),
    ),
    route("GET", "/v1/events/{id}", "events.retrieve", platform.retrieve_event),
    route("GET", "/v2/core/events/{id}", "v2.core.events.retrieve", platform.retrieve_thin_event),
    # Connect -------------------------------------------------------------------------------------------------
    route(
        "POST",
        "/v1/accounts",
        "accounts.create",
        platform.create_account,
        schema(
            capabilities=_CAPABILITIES,
            country=string(),
            email=string(),
            metadata=metadata(),
            type=enum("custom", "express", "standard"),
            business_profile=anything().refused(),
            business_type=anything().refused(),
            company=anything().refused(),
            individual=anything().refused(),
            tos_acceptance=anything().refused(),
        ),
    ),
    route("GET", "/v1/accounts", "accounts.list", accounts.list_accounts, schema(LIST, created=range_filter())),
    route("GET", "/v1/accounts/{id}", "accounts.retrieve", platform.retrieve_account),
    route("GET", "/v1/account", "accounts.retrieve_current", accounts.retrieve_current_account),
    route(
        "POST",
        "/v1/accounts/{id}",
        "accounts.update",
        accounts.update_account,
        schema(
            capabilities=_CAPABILITIES,
            email=string(),
            metadata=metadata(),
            business_profile=anything().refused(),
            business_type=anything().refused(),
            company=anything().refused(),
            external_account=anything().refused(),
            individual=anything().refused(),
            settings=anything().refused(),
            tos_acceptance=anything().refused(),
        ),
        emits=("account.updated",),
    ),
    route(
        "POST",
        "/v1/accounts/{id}/reject",
        "accounts.reject",
        accounts.reject_account,
        schema(reason=enum("fraud", "other", "terms_of_service", required=True)),
        emits=("account.updated",),
    ),
    route(
        "GET", "/v1/accounts/{id}/capabilities", "accounts.capabilities.list", accounts.list_capabilities, schema(LIST)
    ),
    route(
        "GET",
        "/v1/accounts/{id}/capabilities/{capability}",
        "accounts.capabilities.retrieve",
        accounts.retrieve_capability,
    ),
    route(
        "POST",
        "/v1/accounts/{id}/capabilities/{capability}",
        "accounts.capabilities.update",
        accounts.update_capability,
        schema(requested=boolean()),
        emits=("capability.updated", "account.updated"),
    ),
    route(
        "POST",
        "/v1/accounts/{id}/persons",
        "accounts.persons.create",
        persons.create_person,
        schema(_PERSON),
        emits=("person.created",),
    ),
    route(
        "GET",
        "/v1/accounts/{id}/persons",
        "accounts.persons.list",
        persons.list_persons,
        schema(LIST, relationship=hash_of({role: boolean() for role in persons.ROLES})),
    ),
    route("GET", "/v1/accounts/{id}/persons/{person}", "accounts.persons.retrieve", persons.retrieve_person),
    route(
        "POST",
        "/v1/accounts/{id}/persons/{person}",
        "accounts.persons.update",
        persons.update_person,
        schema(_PERSON),
        emits=("person.updated",),
    ),
    route(
        "DELETE",
        "/v1/accounts/{id}/persons/{person}",
        "accounts.persons.delete",
        persons.delete_person,
        emits=("person.deleted",),
    ),
    route(
        "POST",
        "/v1/accounts/{id}/external_accounts",
        "accounts.external_accounts.create",
        external_accounts.create_external_account,
        schema(
            default_for_currency=boolean(),
            external_account=anything(required=True),
            metadata=metadata(),
        ),
        emits=("account.external_account.created", "account.external_account.updated"),
    ),
    route(
        "GET",
        "/v1/accounts/{id}/external_accounts",
        "accounts.external_accounts.list",
        external_accounts.list_external_accounts,
        schema(LIST, object=enum("bank_account", "card")),
    ),
    route(
        "GET",
        "/v1/accounts/{id}/external_accounts/{external_account}",
        "accounts.external_accounts.retrieve",
        external_accounts.retrieve_external_account,
    ),
    route(
        "POST",
        "/v1/accounts/{id}/external_accounts/{external_account}",
        "accounts.external_accounts.update",
        external_accounts.update_external_account,
        schema(
            account_holder_name=string(),
            account_holder_type=enum("company", "individual", emptyable=True),
            default_for_currency=boolean(),
            metadata=metadata(),
            account_type=anything().refused(),
            documents=anything().refused(),
        ),
        emits=("account.external_account.updated",),
    ),
    route(
        "DELETE",
        "/v1/accounts/{id}/external_accounts/{external_account}",
        "accounts.external_accounts.delete",
        external_accounts.delete_external_account,
        emits=("account.external_account.deleted",),
    ),
    route("POST", "/v1/accounts/{id}/login_links", "accounts.login_links.create", accounts.create_login_link),
    route(
        "DELETE",
        "/v1/accounts/{id}",
        "accounts.delete",
        platform.delete_account,
        emits=("account.application.deauthorized",),
    ),
)

__all__ = ["ROUTES"]
