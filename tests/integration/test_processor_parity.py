"""The live adapter and the fake processor, side by side on the same scripted calls: every answer has the same
shape, field by field (the same keys at every depth, the same kinds of values).

The live adapter (``StripeProcessor``: the official SDK over HTTP) talks to the served fake; the fake processor
answers in-process. A host that develops against one and deploys on the other must meet one format.
"""

from __future__ import annotations

from typing import Any

import pytest

from remit.processor.base import Processor
from remit.processor.fake import FakeProcessor
from remit.processor.stripe import StripeProcessor
from tests.support.fake_server import serve_fake

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


def shape(value: Any) -> Any:
    """The structure of a value: its keys at every depth and the kind of each leaf."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def differences(left: Any, right: Any, path: str = "") -> list[str]:
    if isinstance(left, dict) and isinstance(right, dict):
        found = [f"{path}.{key}: only one side has it" for key in sorted(set(left) ^ set(right))]
        for key in sorted(set(left) & set(right)):
            found += differences(left[key], right[key], f"{path}.{key}")
        return found
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return [f"{path}: {len(left)} items against {len(right)}"]
        return [
            problem
            for i, (a, b) in enumerate(zip(left, right, strict=True))
            for problem in differences(a, b, f"{path}[{i}]")
        ]
    return [] if left == right else [f"{path}: {left} against {right}"]


async def script(processor: Processor, fake: FakeProcessor, tag: str) -> list[tuple[str, Any]]:
    """The calls a billing app makes, in order; each answer under the method's name."""
    product = await fake.create_product(name=f"Pro {tag}", idempotency_key=f"{tag}-product")
    price = await fake.create_price(product=product["id"], unit_amount=2500, idempotency_key=f"{tag}-price")
    answers: list[tuple[str, Any]] = []

    async def keep(name: str, result: Any) -> Any:
        answers.append((name, result))
        return result

    customer = await keep(
        "create_customer",
        await processor.create_customer(
            idempotency_key=f"{tag}-c",
            email=f"{tag}@example.com",
            name="Ada",
            metadata={"tag": tag},
            payment_method="pm_card_visa",
        ),
    )
    await keep(
        "update_customer",
        await processor.update_customer(customer["id"], idempotency_key=f"{tag}-c2", description="VIP"),
    )
    await keep("retrieve_customer", await processor.retrieve_customer(customer["id"]))
    await keep(
        "attach_payment_method",
        await processor.attach_payment_method(
            "pm_card_mastercard", customer=customer["id"], idempotency_key=f"{tag}-pm"
        ),
    )
    sub = await keep(
        "create_subscription",
        await processor.create_subscription(
            customer=customer["id"], items=[{"price": price["id"]}], idempotency_key=f"{tag}-s", metadata={"seats": "2"}
        ),
    )
    await keep(
        "update_subscription",
        await processor.update_subscription(sub["id"], idempotency_key=f"{tag}-s2", quantity=3),
    )
    await keep("retrieve_subscription", await processor.retrieve_subscription(sub["id"]))
    await keep("list_subscription_items", await processor.list_subscription_items(sub["id"]))
    invoice = await keep("retrieve_invoice", await processor.retrieve_invoice(sub["latest_invoice"]))
    await keep("list_invoices", await processor.list_invoices(customer=customer["id"]))
    await keep("list_invoice_lines", await processor.list_invoice_lines(invoice["id"]))
    refund = await keep(
        "create_refund", await processor.create_refund(charge=invoice["charge"], amount=300, idempotency_key=f"{tag}-r")
    )
    await keep(
        "retrieve_balance_transaction", await processor.retrieve_balance_transaction(refund["balance_transaction"])
    )
    await keep(
        "create_checkout_session",
        await processor.create_checkout_session(
            idempotency_key=f"{tag}-cs",
            mode="subscription",
            success_url="https://example.com/ok",
            line_items=[{"price": price["id"], "quantity": 1}],
            customer=customer["id"],
        ),
    )
    await keep(
        "create_billing_portal_session",
        await processor.create_billing_portal_session(
            customer=customer["id"], return_url="https://example.com/account", idempotency_key=f"{tag}-bp"
        ),
    )
    await keep(
        "create_meter_event",
        await processor.create_meter_event(
            event_name="api_call",
            payload={"stripe_customer_id": customer["id"], "value": "1"},
            identifier=f"{tag}-usage",
            idempotency_key=f"{tag}-m",
        ),
    )
    await keep(
        "cancel_subscription",
        await processor.cancel_subscription(sub["id"], at_period_end=True, idempotency_key=f"{tag}-s3"),
    )
    await keep("resume_subscription", await processor.resume_subscription(sub["id"], idempotency_key=f"{tag}-s4"))
    await keep("cancel_subscription", await processor.cancel_subscription(sub["id"], idempotency_key=f"{tag}-s5"))
    await keep(
        "create_webhook_endpoint",
        await processor.create_webhook_endpoint(
            url=f"https://{tag}.example/webhooks", enabled_events=["invoice.paid"], idempotency_key=f"{tag}-we"
        ),
    )
    await keep("delete_customer", await processor.delete_customer(customer["id"], idempotency_key=f"{tag}-c3"))
    return answers


async def test_the_live_adapter_and_the_fake_answer_the_same_shapes(runtime):
    async with serve_fake(runtime) as served:
        live = StripeProcessor("sk_test_parity", api_base=served.base, timeout=10)
        try:
            over_http = await script(live, served.fake, "live")
            event_id = served.collected.events[-1].event_id
            over_http.append(("retrieve_event", await live.retrieve_event(event_id)))
            over_http.append(("list_webhook_endpoints", await live.list_webhook_endpoints()))  # one: its own
        finally:
            await live.close()
        in_process = await script(served.fake, served.fake, "fake")
        in_process.append(("retrieve_event", await served.fake.retrieve_event(event_id)))
        endpoints = await served.fake.list_webhook_endpoints()
        in_process.append(("list_webhook_endpoints", [e for e in endpoints if "fake.example" in e["url"]]))
    assert [name for name, _ in over_http] == [name for name, _ in in_process]
    for (name, left), (_, right) in zip(over_http, in_process, strict=True):
        assert differences(shape(left), shape(right)) == [], name
