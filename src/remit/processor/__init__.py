"""Payment processors behind one protocol: the fake (embedded default, test double) and Stripe.

:func:`build_processor` picks one from the settings; everything else in remit only sees
:class:`~remit.processor.base.Processor`.

The fake is imported by the functions that build it, not here: importing any ``remit.processor`` module
imports this package first, and most of them (the credentials' state, the errors, the protocol) have no use
for the fake's engine and its hundreds of routes — nor does a ``remit`` command that only reads the database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from remit.processor.base import Processor, StripeObject

if TYPE_CHECKING:
    from remit.clock import Clock
    from remit.config import Settings
    from remit.db.engine import Database
    from remit.processor.fake.delivery import Delivery
    from remit.processor.fake.engine import FakeEngine


def webhook_url(settings: Settings, base_url: str | None = None) -> str:
    """Where the fake delivers: ``REMIT_URL`` (or ``base_url``) + ``REMIT_WEBHOOK_PATH``."""
    return (base_url or settings.url).rstrip("/") + settings.webhook_path


def build_fake_engine(
    settings: Settings, db: Database, clock: Clock, *, delivery: Delivery | None = None, base_url: str | None = None
) -> FakeEngine:
    """The fake's engine with remit's configured secret; events go to ``delivery`` or, by default, over HTTP
    to the running service."""
    from remit.processor.fake.delivery import HttpDelivery
    from remit.processor.fake.engine import FakeEngine

    def secret() -> str:
        secrets = settings.webhook_secrets
        if not secrets:
            raise ValueError("no webhook secret configured to sign the fake processor's events")
        return secrets[0]

    return FakeEngine(db, clock, delivery=delivery or HttpDelivery(webhook_url(settings, base_url)), secret=secret)


def build_processor(settings: Settings, db: Database, clock: Clock, *, delivery: Delivery | None = None) -> Processor:
    """The processor ``REMIT_PROCESSOR`` names: the fake over ``db`` (events delivered to ``delivery``, else
    over HTTP to ``REMIT_URL``), or Stripe with ``STRIPE_API_KEY`` at ``STRIPE_API_BASE``."""
    if settings.processor == "stripe":
        from remit.processor.stripe import StripeProcessor

        if not settings.stripe_api_key:
            raise ValueError("STRIPE_API_KEY is required when REMIT_PROCESSOR=stripe")
        return StripeProcessor(settings.stripe_api_key, api_base=settings.stripe_api_base)
    from remit.processor.fake.processor import FakeProcessor

    return FakeProcessor(build_fake_engine(settings, db, clock, delivery=delivery))


__all__ = ["Processor", "StripeObject", "build_fake_engine", "build_processor", "webhook_url"]
