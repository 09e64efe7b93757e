"""What ``remit fake trigger`` / ``deliver`` say when deliveries fail: unreachable and refused told apart."""

import httpx

from remit.cli.fake import delivery_failure_message
from remit.processor.fake.delivery import HttpDelivery, SignedEvent
from remit.processor.fake.engine import Delivered

URL = "http://127.0.0.1:8000/webhooks/stripe"
EVENT = SignedEvent("evt_1", "customer.created", '{"id": "evt_1", "email": "ada@example.com"}', "t=1,v1=00")


async def deliver(status: int, body: object) -> tuple[int | None, str | None]:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    result = await HttpDelivery(URL, transport=httpx.MockTransport(answer))(EVENT)
    return result.status_code, result.error


async def test_a_refusal_keeps_remits_error_code_only() -> None:
    assert await deliver(400, {"error": {"code": "signature_invalid", "message": "no signature matches"}}) == (
        400,
        "signature_invalid",
    )
    assert await deliver(200, {"received": True}) == (200, None)
    assert await deliver(502, {"error": {"code": "Not <an> identifier ada@example.com"}}) == (502, None)
    assert await deliver(502, ["not", "remit"]) == (502, None)


def test_the_message_tells_unreachable_from_refused() -> None:
    assert delivery_failure_message([Delivered("evt_1", "t", 200, None)], URL) is None
    unreachable = delivery_failure_message([Delivered("evt_1", "t", None, "ConnectError")], URL)
    assert unreachable is not None
    assert "1 got no answer (is remit serving there?)" in unreachable
    assert "remit fake deliver" in unreachable
    refused = delivery_failure_message(
        [Delivered("evt_1", "t", 200, None), Delivered("evt_2", "t", 400, "signature_invalid")], URL
    )
    assert refused is not None
    assert "1 of 2 deliveries" in refused
    assert "refused (400 signature_invalid)" in refused
    assert "STRIPE_WEBHOOK_SECRET must be the same" in refused
    assert "serving there" not in refused
