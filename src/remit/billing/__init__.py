"""Billing: the mirror of the processor's objects and the projections that keep it right.

- :mod:`remit.billing.projection` — :func:`apply_event`, the default webhook handler (watermarked upserts);
- :mod:`remit.billing.routing` — which mirror write an event implies (pure);
- :mod:`remit.billing.kinds` — the mirrored object types, their filter columns and version hints (pure);
- :mod:`remit.billing.watermark` — the ordering rule for events of one object (pure);
- :mod:`remit.billing.refetch` — completing truncated child lists from the processor;
- :mod:`remit.billing.mirror` — reading the mirror, paged like the processor's own lists;
- :mod:`remit.billing.actions` — the write side: customers, checkout and portal sessions, subscriptions,
  each once per idempotency key (by concept in :mod:`remit.billing.customer_actions`,
  :mod:`remit.billing.session_actions` and :mod:`remit.billing.subscription_actions`, sharing
  :mod:`remit.billing.action_common`; :mod:`remit.billing.action_runner` runs one,
  :mod:`remit.billing.action_store` keeps the outcomes, :mod:`remit.billing.action_params` checks the arguments);
- :mod:`remit.billing.action_retention` — the periodic task ``billing.prune_actions``: outcomes deleted after
  their retention, expired sessions' URLs and client secrets blanked;
- :mod:`remit.billing.packages` — what a host sells.

Importing this package registers nothing: :data:`PART` declares what the billing part brings to a runtime (the
periodic task, the state machine of a billing action's key; its mirror projection is the webhooks part's
handler), and :mod:`remit.parts` composes it. See ``docs/mirror.md`` and ``docs/billing.md``.
"""

from remit.billing.action_retention import PRUNE_TASK as ACTIONS_PRUNE_TASK
from remit.billing.action_store import ACTION_STATES
from remit.billing.actions import (
    ActionInProgress,
    ActionRefused,
    ActionResult,
    BillingActionError,
    IdempotencyKeyReused,
    InvalidActionRequest,
    SessionExpired,
    cancel_subscription,
    change_plan,
    create_checkout_session,
    create_customer,
    create_portal_session,
    resume_subscription,
    subscribe,
    update_customer,
)
from remit.billing.mirror import MirrorRecord, Page, UnknownCursor, get_object, list_objects
from remit.billing.projection import ApplyResult, ApplyStatus, apply_event
from remit.billing.routing import MalformedEvent
from remit.part import Part

PART = Part(name="billing", periodic=(ACTIONS_PRUNE_TASK,), state_machines=(ACTION_STATES,))

__all__ = [
    "ACTIONS_PRUNE_TASK",
    "PART",
    "ActionInProgress",
    "ActionRefused",
    "ActionResult",
    "ApplyResult",
    "ApplyStatus",
    "BillingActionError",
    "IdempotencyKeyReused",
    "InvalidActionRequest",
    "MalformedEvent",
    "MirrorRecord",
    "Page",
    "SessionExpired",
    "UnknownCursor",
    "apply_event",
    "cancel_subscription",
    "change_plan",
    "create_checkout_session",
    "create_customer",
    "create_portal_session",
    "get_object",
    "list_objects",
    "resume_subscription",
    "subscribe",
    "update_customer",
]
