"""Stripe Connect: the events about connected accounts and payouts an operator must hear about.

``events`` reads them (pure: which capability an ``account.updated`` lost, which account an event is about);
``handlers`` turns them into the ops events ``connect_account_deauthorized``, ``connect_capability_lost`` and
``connect_payout_failed``. Connected accounts' events reach remit through a Connect endpoint
(``REMIT_WEBHOOK_ENDPOINTS``, e.g. ``connect=/webhooks/stripe-connect:STRIPE_CONNECT_WEBHOOK_SECRET``); the
platform's own ``payout.failed`` through the default one.

Importing this package registers nothing: :data:`PART` declares the three handlers, and :mod:`remit.parts`
composes it after the mirror.
"""

from remit.connect.events import CONNECT_EVENT_TYPES, LostCapability, account_of, lost_capabilities
from remit.connect.handlers import HANDLERS
from remit.part import Part

PART = Part(name="connect", event_handlers=HANDLERS)

__all__ = ["CONNECT_EVENT_TYPES", "PART", "LostCapability", "account_of", "lost_capabilities"]
