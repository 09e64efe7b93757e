"""A payment intent's capture method changes only before it is confirmed, as at Stripe: set to manual, the
confirmed intent waits for its capture."""

from datetime import UTC, datetime

import pytest

from remit.clock import FrozenClock
from remit.errors import ProcessorError
from remit.processor.fake import CollectingDelivery, FakeEngine, FakeProcessor


@pytest.fixture
def fake(database) -> FakeProcessor:
    clock = FrozenClock(datetime(2026, 1, 10, 12, 0, tzinfo=UTC))
    return FakeProcessor(FakeEngine(database, clock, delivery=CollectingDelivery(), secret="whsec_pi"))


async def test_manual_capture_set_before_confirmation_holds_the_funds(fake):
    pi = await fake.request(
        "POST", "/v1/payment_intents", {"amount": 900, "currency": "usd", "payment_method": "pm_card_visa"}
    )
    await fake.request("POST", f"/v1/payment_intents/{pi['id']}", {"capture_method": "manual"})
    held = await fake.request("POST", f"/v1/payment_intents/{pi['id']}/confirm")
    assert held["status"] == "requires_capture"
    with pytest.raises(ProcessorError) as late:
        await fake.request("POST", f"/v1/payment_intents/{pi['id']}", {"capture_method": "automatic"})
    assert late.value.status_code == 400
    captured = await fake.request("POST", f"/v1/payment_intents/{pi['id']}/capture")
    assert captured["status"] == "succeeded"
