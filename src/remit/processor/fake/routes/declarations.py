"""What several routes' declarations share: addresses, billing details, enumerations Stripe has, the events of
a payment or a subscription's billing."""

from __future__ import annotations

from remit.processor.fake.schema import Param, anything, array_of, enum, hash_of, integer, metadata, string


def address(*, required: bool = False, emptyable: bool = False) -> Param:
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


def shipping(*, emptyable: bool = False, carrier: bool = False) -> Param:
    extra = {"carrier": string(), "tracking_number": string()} if carrier else {}
    return hash_of(
        extra, emptyable=emptyable, address=address(required=True), name=string(required=True), phone=string()
    )


def billing_details() -> Param:
    return hash_of(
        address=address(emptyable=True),
        email=string(emptyable=True),
        name=string(emptyable=True),
        phone=string(emptyable=True),
        tax_id=string(),
    )


def invoice_settings() -> Param:
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
CARD_EXPIRY = {"exp_month": integer(), "exp_year": integer()}
PRICE_DATA_UNSUPPORTED = anything().refused()
SUBSCRIPTION_ITEM = {
    "metadata": metadata(),
    "price": string(),
    "quantity": integer(),
    "discounts": anything(emptyable=True).refused(),
    "price_data": PRICE_DATA_UNSUPPORTED,
    "tax_rates": array_of(string(), emptyable=True).refused(),
}
DISCOUNTS = array_of(
    hash_of(coupon=string(), discount=string().refused(), promotion_code=string().refused()), emptyable=True
)
SUBSCRIPTION_EVENTS = (
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
PAYMENT_EVENTS = (
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
INVOICE_PAYMENT_EVENTS = (
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
    "invoice.payment_action_required",
    "customer.subscription.updated",
    "customer.updated",
    *PAYMENT_EVENTS,
)


__all__ = [
    "CARD_EXPIRY",
    "COLLECTION_METHODS",
    "DISCOUNTS",
    "INVOICE_PAYMENT_EVENTS",
    "PAYMENT_BEHAVIORS",
    "PAYMENT_EVENTS",
    "PAYMENT_METHOD_TYPES",
    "PRICE_DATA_UNSUPPORTED",
    "PRORATION_BEHAVIORS",
    "SUBSCRIPTION_EVENTS",
    "SUBSCRIPTION_ITEM",
    "SUBSCRIPTION_STATUSES",
    "address",
    "billing_details",
    "invoice_settings",
    "shipping",
]
