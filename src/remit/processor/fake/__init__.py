"""The fake processor: deterministic, with its own clock and scripted failures, emitting the webhooks Stripe
would emit, over remit's own database (``remit_fake_*`` tables) so every process shares one world.

- :class:`FakeProcessor` — the :class:`~remit.processor.base.Processor` (in-process calls);
- :class:`FakeEngine` — the world: calls, clock, failures, events and their delivery;
- deliveries — :class:`HttpDelivery` (to a running service), :class:`AsgiDelivery` (into an app in this
  process), :class:`CollectingDelivery` (keep them, for unit tests);
- the HTTP face is :mod:`remit.api.fake` (``/fake/v1``), triggers are :mod:`remit.processor.fake.triggers`.
"""

from remit.processor.fake.delivery import (
    AsgiDelivery,
    CollectingDelivery,
    Delivery,
    DeliveryResult,
    HttpDelivery,
    SignedEvent,
)
from remit.processor.fake.engine import Delivered, FakeEngine, FakeResponse, FakeTimeout
from remit.processor.fake.failures import FailureKind
from remit.processor.fake.processor import FakeProcessor

__all__ = [
    "AsgiDelivery",
    "CollectingDelivery",
    "Delivered",
    "Delivery",
    "DeliveryResult",
    "FailureKind",
    "FakeEngine",
    "FakeProcessor",
    "FakeResponse",
    "FakeTimeout",
    "HttpDelivery",
    "SignedEvent",
]
