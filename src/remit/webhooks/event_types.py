"""The event types remit handles: what ``remit webhooks register`` subscribes an endpoint to.

These are the types the billing mirror projects (customers, payment methods, subscriptions, invoices,
charges, refunds, disputes, checkout sessions, products and prices) — a test checks that each routes to a
mirrored object and that every mirrored object has its events here. Legacy card sources
(``customer.source.*``) are not mirrored, so not subscribed to. Subscribing to exactly these, not to
``*``, keeps the processor from sending traffic nobody reads; ``remit webhooks check`` compares a registered
endpoint's enabled events with this set, so a new handled type shows up as drift until the endpoint is
updated. Events of other types are still stored and acknowledged when they arrive (e.g. from a ``*``
endpoint), just not projected.
"""

from __future__ import annotations

HANDLED_EVENT_TYPES: tuple[str, ...] = (
    # customers and their payment methods
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "payment_method.attached",
    "payment_method.updated",
    "payment_method.detached",
    "payment_method.automatically_updated",
    # subscriptions
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "customer.subscription.pending_update_applied",
    "customer.subscription.pending_update_expired",
    "customer.subscription.trial_will_end",
    # invoices
    "invoice.created",
    "invoice.updated",
    "invoice.deleted",
    "invoice.finalized",
    "invoice.finalization_failed",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
    "invoice.payment_action_required",
    "invoice.marked_uncollectible",
    "invoice.voided",
    "invoice.sent",
    "invoice.upcoming",
    "invoice.overdue",
    "invoice.will_be_due",
    # charges, refunds, disputes
    "charge.succeeded",
    "charge.failed",
    "charge.pending",
    "charge.captured",
    "charge.expired",
    "charge.updated",
    "charge.refunded",
    "charge.refund.updated",
    "refund.created",
    "refund.updated",
    "refund.failed",
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
    # checkout
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    # catalog
    "product.created",
    "product.updated",
    "product.deleted",
    "price.created",
    "price.updated",
    "price.deleted",
)


def handled_event_types() -> list[str]:
    """The handled types, sorted, as a processor's ``enabled_events`` list."""
    return sorted(HANDLED_EVENT_TYPES)


__all__ = ["HANDLED_EVENT_TYPES", "handled_event_types"]
