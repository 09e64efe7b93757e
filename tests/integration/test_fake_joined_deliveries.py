"""Deliveries the fake defers to a joined caller's commit, on both databases: they run outside the caller's
connection (a webhook receiver that calls the fake back gets a transaction of its own, not the caller's ended
one), and a delivery that fails is logged with its error type."""

from __future__ import annotations

import logging

import pytest

from remit.processor.fake import FakeEngine, FakeProcessor
from remit.processor.fake.delivery import DeliveryResult, SignedEvent
from remit.runtime import Runtime
from tests.support.webhooks import SECRET


class CallingBack:
    """A receiver that, on a customer's first event, asks the fake for another customer (as a webhook handler
    calling the processor does), then answers 200."""

    def __init__(self) -> None:
        self.fake: FakeProcessor | None = None
        self.types: list[str] = []
        self.made: list[str] = []
        self.called_back = False

    async def __call__(self, event: SignedEvent) -> DeliveryResult:
        self.types.append(event.event_type)
        if event.event_type == "customer.created" and not self.called_back and self.fake is not None:
            self.called_back = True  # its own customer.created comes back here, within the call
            made = await self.fake.create_customer(email="back@example.com", idempotency_key="back")
            self.made.append(str(made["id"]))
        return DeliveryResult(200)


class Failing:
    async def __call__(self, event: SignedEvent) -> DeliveryResult:
        raise RuntimeError("the receiver fell over")


async def test_a_deferred_delivery_does_not_join_the_callers_ended_transaction(rt: Runtime) -> None:
    receiver = CallingBack()
    fake = FakeProcessor(FakeEngine(rt.db, rt.clock, delivery=receiver, secret=SECRET))
    receiver.fake = fake
    async with rt.db.begin() as conn:
        with fake.engine.joining(conn):
            await fake.create_customer(email="joined@example.com", idempotency_key="joined")
        assert receiver.types == []  # nothing before the commit
    await fake.engine.settle()
    [made] = receiver.made
    assert (await fake.retrieve_customer(made))["email"] == "back@example.com"  # committed in its own transaction
    assert receiver.types == ["customer.created", "customer.created"]


async def test_a_failed_deferred_delivery_is_logged_with_its_error_type(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeProcessor(FakeEngine(rt.db, rt.clock, delivery=Failing(), secret=SECRET))
    with caplog.at_level(logging.WARNING, logger="remit.processor.fake.engine"):
        async with rt.db.begin() as conn:
            with fake.engine.joining(conn):
                await fake.create_customer(email="joined@example.com", idempotency_key="joined")
        with pytest.raises(RuntimeError):
            await fake.engine.settle()
    [logged] = [r for r in caplog.records if r.name == "remit.processor.fake.engine"]
    assert "RuntimeError" in logged.getMessage()
    assert "fell over" not in logged.getMessage()
