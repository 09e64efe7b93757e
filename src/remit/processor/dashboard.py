"""Links to an object in the processor's own dashboard, for the operator's two-layer check: what remit
mirrored beside what the processor holds.

Stripe's dashboard addresses a customer, subscription, invoice or payment by its id under
``https://dashboard.stripe.com`` (``/test`` before the path for a test-mode object). The fake processor has no
dashboard: its objects are read with ``remit fake`` or its HTTP face, so it gets no link.
"""

from __future__ import annotations

STRIPE_DASHBOARD = "https://dashboard.stripe.com"
#: The dashboard's path segment per mirrored object type (a charge is shown among payments).
STRIPE_PATHS = {
    "customer": "customers",
    "subscription": "subscriptions",
    "invoice": "invoices",
    "charge": "payments",
    "refund": "refunds",
    "dispute": "disputes",
    "checkout_session": "checkout/sessions",
}


def dashboard_url(processor: str, object_type: str, object_id: str, *, livemode: bool) -> str | None:
    """The dashboard page of one object, or None when the processor has none for it (pure)."""
    if processor != "stripe" or object_type not in STRIPE_PATHS or not object_id:
        return None
    mode = "" if livemode else "/test"
    return f"{STRIPE_DASHBOARD}{mode}/{STRIPE_PATHS[object_type]}/{object_id}"


__all__ = ["STRIPE_DASHBOARD", "STRIPE_PATHS", "dashboard_url"]
