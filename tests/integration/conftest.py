"""Fixtures several integration modules share: a webhook runtime, the ops events it emits, a fake's deliveries.

``rt`` is a runtime with the webhook signing secrets and a frozen clock (:mod:`tests.support.webhooks`) on
``db_url``, so each test runs on SQLite and PostgreSQL; a module changes its settings with
``pytestmark = pytest.mark.webhook_settings(REMIT_WEBHOOK_MAX_ATTEMPTS="1")``. ``stepper`` is the
job-progress tests' worker set-up on ``rt`` (:mod:`tests.support.progress`; the module's settings give it
``REMIT_QUEUES=test_default:5``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from remit.processor.fake import CollectingDelivery
from remit.runtime import Runtime
from remit.telemetry import ops
from tests.support.progress import Stepper
from tests.support.webhooks import dispatch_runtime, make_runtime, webhook_settings


@pytest.fixture
async def rt(request: pytest.FixtureRequest, db_url: str) -> AsyncIterator[Runtime]:
    marker = request.node.get_closest_marker("webhook_settings")
    settings = webhook_settings(db_url, **(marker.kwargs if marker else {}))
    only_webhooks = request.node.get_closest_marker("webhooks_part_only") is not None
    runtime = dispatch_runtime(settings) if only_webhooks else make_runtime(settings)
    yield runtime
    await runtime.close()


@pytest.fixture
def ops_events() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every ops event emitted during the test, as ``(name, metadata)``."""
    seen: list[tuple[str, dict[str, Any]]] = []
    remove = ops.add_sink(lambda name, meta: seen.append((name, meta)))
    yield seen
    remove()


@pytest.fixture
def collected() -> CollectingDelivery:
    """A delivery for the fake processor that keeps every signed event instead of sending it."""
    return CollectingDelivery()


@pytest.fixture
def stepper(rt: Runtime) -> Stepper:
    """A stepping job registered on ``rt``, run step by step by the engine's worker loop."""
    return Stepper(rt)
