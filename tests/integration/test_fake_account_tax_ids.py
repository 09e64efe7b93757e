"""``/v1/tax_ids`` in the fake, as at Stripe: the account's own tax ids by default, a customer's by ``owner``,
either by id; malformed values and owners the fake does not keep are refused."""

from datetime import UTC, datetime

import pytest

from remit.clock import FrozenClock
from remit.errors import ProcessorError
from remit.processor.fake import CollectingDelivery, FakeEngine, FakeProcessor


@pytest.fixture
def collected() -> CollectingDelivery:
    return CollectingDelivery()


@pytest.fixture
def fake(database, collected) -> FakeProcessor:
    clock = FrozenClock(datetime(2026, 1, 10, 12, 0, tzinfo=UTC))
    return FakeProcessor(FakeEngine(database, clock, delivery=collected, secret="whsec_taxids"))


async def test_the_accounts_tax_ids_and_a_customers_are_kept_apart(fake, collected):
    own = await fake.request("POST", "/v1/tax_ids", {"type": "gb_vat", "value": "GB123456789"})
    customer = await fake.create_customer(idempotency_key="cus")
    theirs = await fake.request(
        "POST",
        "/v1/tax_ids",
        {"type": "us_ein", "value": "12-3456789", "owner": {"type": "customer", "customer": customer["id"]}},
    )
    assert (own["customer"], theirs["customer"]) == (None, customer["id"])
    assert collected.types[0] == "tax_id.created"
    assert collected.types[-1] == "customer.tax_id.created"
    listed = await fake.request("GET", "/v1/tax_ids")
    assert [t["id"] for t in listed["data"]] == [own["id"]]
    by_owner = await fake.request("GET", "/v1/tax_ids", {"owner": {"type": "customer", "customer": customer["id"]}})
    assert [t["id"] for t in by_owner["data"]] == [theirs["id"]]
    assert (await fake.request("GET", f"/v1/tax_ids/{theirs['id']}"))["value"] == "12-3456789"
    await fake.request("DELETE", f"/v1/tax_ids/{own['id']}")
    await fake.request("DELETE", f"/v1/tax_ids/{theirs['id']}")
    assert collected.types[-2:] == ["tax_id.deleted", "customer.tax_id.deleted"]
    with pytest.raises(ProcessorError) as gone:
        await fake.request("GET", f"/v1/tax_ids/{own['id']}")
    assert gone.value.status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"type": "eu_vat", "value": "11111"},
        {"type": "us_ein", "value": "12-3456789", "owner": {"type": "account", "account": "acct_1"}},
        {"type": "us_ein", "value": "12-3456789", "owner": {"type": "customer"}},
        {"type": "us_ein", "value": "12-3456789", "owner": {"type": "customer", "customer": "cus_nobody"}},
    ],
)
async def test_what_stripe_refuses_is_refused(fake, collected, params):
    with pytest.raises(ProcessorError) as refused:
        await fake.request("POST", "/v1/tax_ids", params)
    assert refused.value.status_code in {400, 404}
    assert collected.types == []
