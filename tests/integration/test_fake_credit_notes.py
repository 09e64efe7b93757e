"""Credit notes in the fake, as at Stripe: an invoice line is credited at its own unit price (all of it, or the
quantity given), a line the invoice does not have is refused, and no invoice is credited beyond its total."""

from datetime import UTC, datetime

import pytest

from remit.clock import FrozenClock
from remit.errors import ProcessorError
from remit.processor.fake import CollectingDelivery, FakeEngine, FakeProcessor


@pytest.fixture
def fake(database) -> FakeProcessor:
    clock = FrozenClock(datetime(2026, 1, 10, 12, 0, tzinfo=UTC))
    return FakeProcessor(FakeEngine(database, clock, delivery=CollectingDelivery(), secret="whsec_notes"))


async def open_invoice(fake: FakeProcessor) -> dict:
    customer = await fake.create_customer(idempotency_key="cus")
    product = await fake.create_product(name="Seat", idempotency_key="prod")
    price = await fake.request("POST", "/v1/prices", {"product": product["id"], "unit_amount": 1200, "currency": "usd"})
    await fake.request("POST", "/v1/invoiceitems", {"customer": customer["id"], "price": price["id"], "quantity": 3})
    draft = await fake.request(
        "POST", "/v1/invoices", {"customer": customer["id"], "collection_method": "send_invoice", "days_until_due": 30}
    )
    return dict(await fake.request("POST", f"/v1/invoices/{draft['id']}/finalize"))


async def test_an_invoice_line_is_credited_at_its_unit_price(fake):
    invoice = await open_invoice(fake)
    line = invoice["lines"]["data"][0]
    whole = await fake.request(
        "POST",
        "/v1/credit_notes",
        {"invoice": invoice["id"], "lines": [{"type": "invoice_line_item", "invoice_line_item": line["id"]}]},
    )
    assert whole["amount"] == 3600
    assert whole["lines"]["data"][0]["invoice_line_item"] == line["id"]
    assert (await fake.retrieve_invoice(invoice["id"]))["amount_due"] == 0


async def test_a_quantity_credits_that_many_and_no_more_than_the_invoice(fake):
    invoice = await open_invoice(fake)
    line = invoice["lines"]["data"][0]
    one = {"type": "invoice_line_item", "invoice_line_item": line["id"], "quantity": 1}
    note = await fake.request("POST", "/v1/credit_notes", {"invoice": invoice["id"], "lines": [one]})
    assert (note["amount"], note["lines"]["data"][0]["unit_amount"]) == (1200, 1200)
    assert (await fake.retrieve_invoice(invoice["id"]))["amount_remaining"] == 2400
    for refused in (
        {"invoice": invoice["id"], "lines": [dict(one, quantity=3)]},
        {"invoice": invoice["id"], "lines": [dict(one, invoice_line_item="il_nope")]},
        {"invoice": invoice["id"], "amount": 5000},
    ):
        with pytest.raises(ProcessorError) as caught:
            await fake.request("POST", "/v1/credit_notes", refused)
        assert caught.value.status_code == 400
