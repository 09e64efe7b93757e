"""Connected accounts in the fake beyond create and delete, as at Stripe: updates and capabilities announce
themselves (``account.updated``, ``capability.updated``), only custom and Express accounts can be rejected, only
Express ones get dashboard login links, and a capability Stripe does not have is a 404."""

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
    return FakeProcessor(FakeEngine(database, clock, delivery=collected, secret="whsec_accounts"))


async def refused(call) -> ProcessorError:
    with pytest.raises(ProcessorError) as caught:
        await call
    return caught.value


async def test_capabilities_are_requested_and_unrequested_with_their_events(fake, collected):
    account = await fake.request("POST", "/v1/accounts", {"type": "express"})
    requested = await fake.request("POST", f"/v1/accounts/{account['id']}/capabilities/transfers", {"requested": True})
    assert (requested["status"], requested["requested_at"]) == ("inactive", 1768046400)
    assert collected.types == ["capability.updated", "account.updated"]
    again = await fake.request("POST", f"/v1/accounts/{account['id']}/capabilities/transfers", {"requested": True})
    assert again == requested
    assert len(collected.types) == 2
    dropped = await fake.request("POST", f"/v1/accounts/{account['id']}/capabilities/transfers", {"requested": False})
    assert (dropped["status"], dropped["requested_at"]) == ("unrequested", None)
    unknown = await refused(fake.request("GET", f"/v1/accounts/{account['id']}/capabilities/acap_123"))
    assert unknown.status_code == 404


async def test_rejecting_and_login_links_are_for_the_accounts_stripe_allows(fake, collected):
    standard = await fake.request("POST", "/v1/accounts", {"type": "standard"})
    express = await fake.request("POST", "/v1/accounts", {"type": "express"})
    assert (
        await refused(fake.request("POST", f"/v1/accounts/{standard['id']}/reject", {"reason": "fraud"}))
    ).status_code == 400
    assert (await refused(fake.request("POST", f"/v1/accounts/{standard['id']}/login_links"))).status_code == 400
    link = await fake.request("POST", f"/v1/accounts/{express['id']}/login_links")
    assert link["object"] == "login_link"
    rejected = await fake.request("POST", f"/v1/accounts/{express['id']}/reject", {"reason": "terms_of_service"})
    assert (rejected["charges_enabled"], rejected["payouts_enabled"]) == (False, False)
    assert collected.types == ["account.updated"]
    twice = await refused(fake.request("POST", f"/v1/accounts/{express['id']}/reject", {"reason": "fraud"}))
    assert twice.status_code == 400
    own = await fake.request("GET", "/v1/account")
    listed = await fake.request("GET", "/v1/accounts")
    assert own["id"] not in {a["id"] for a in listed["data"]}


async def test_persons_belong_to_their_account_and_announce_themselves(fake, collected):
    first = await fake.request("POST", "/v1/accounts", {"type": "custom"})
    other = await fake.request("POST", "/v1/accounts", {"type": "custom"})
    person = await fake.request(
        "POST", f"/v1/accounts/{first['id']}/persons", {"first_name": "Ada", "ssn_last_4": "1234"}
    )
    assert (person["ssn_last_4_provided"], person["verification"]["status"]) == (True, "unverified")
    assert "ssn_last_4" not in person
    elsewhere = await refused(fake.request("GET", f"/v1/accounts/{other['id']}/persons/{person['id']}"))
    assert elsewhere.status_code == 404
    for bad in ({"dob": {"day": 40, "month": 1, "year": 1990}}, {"relationship": {"percent_ownership": 120}}):
        assert (await refused(fake.request("POST", f"/v1/accounts/{first['id']}/persons", bad))).status_code == 400
    await fake.request("POST", f"/v1/accounts/{first['id']}/persons/{person['id']}", {"last_name": "Lovelace"})
    await fake.request("DELETE", f"/v1/accounts/{first['id']}/persons/{person['id']}")
    assert collected.types == ["person.created", "person.updated", "person.deleted"]
    assert (await fake.request("GET", f"/v1/accounts/{first['id']}/persons"))["data"] == []


async def test_a_currencys_default_payout_account_is_kept_until_another_is_made_the_default(fake, collected):
    account = await fake.request("POST", "/v1/accounts", {"type": "custom"})
    base = f"/v1/accounts/{account['id']}/external_accounts"
    first = await fake.request("POST", base, {"external_account": "btok_us"})
    second = await fake.request("POST", base, {"external_account": "btok_us_verified"})
    assert (first["default_for_currency"], second["default_for_currency"]) == (True, False)
    assert (await refused(fake.request("DELETE", f"{base}/{first['id']}"))).status_code == 400
    undefault = await refused(fake.request("POST", f"{base}/{first['id']}", {"default_for_currency": False}))
    assert undefault.status_code == 400
    await fake.request("POST", f"{base}/{second['id']}", {"default_for_currency": True})
    assert (await fake.request("GET", f"{base}/{first['id']}"))["default_for_currency"] is False
    await fake.request("DELETE", f"{base}/{first['id']}")
    assert collected.types == [
        "account.external_account.created",
        "account.external_account.created",
        "account.external_account.updated",
        "account.external_account.updated",
        "account.external_account.deleted",
    ]
    for bad in (
        {"external_account": "tok_visa"},
        {"external_account": "btok_nope"},
        {"external_account": {"object": "bank_account", "country": "US", "currency": "usd", "account_number": "12"}},
        {"external_account": {"object": "bank_account", "swift": "x"}},
    ):
        assert (await refused(fake.request("POST", base, bad))).status_code in {400, 404}
    customer = await fake.create_customer(idempotency_key="cus")
    theirs = await fake.request("POST", f"/v1/customers/{customer['id']}/sources", {"source": "btok_us"})
    assert (await refused(fake.request("GET", f"{base}/{theirs['id']}"))).status_code == 404


async def test_debit_cards_take_payouts_and_credit_cards_do_not(fake, collected):
    account = await fake.request("POST", "/v1/accounts", {"type": "custom"})
    base = f"/v1/accounts/{account['id']}/external_accounts"
    card = await fake.request("POST", base, {"external_account": "tok_visa_debit"})
    assert (card["object"], card["funding"], card["default_for_currency"]) == ("card", "debit", True)
    assert "customer" not in card
    credit = await refused(fake.request("POST", base, {"external_account": "tok_visa"}))
    assert (credit.status_code, credit.code) == (400, "invalid_card_type")
    bank = await fake.request("POST", base, {"external_account": "btok_us"})
    assert bank["default_for_currency"] is False
    cards = await fake.request("GET", base, {"object": "card"})
    assert [c["id"] for c in cards["data"]] == [card["id"]]
    both = await fake.request("GET", base)
    assert {x["id"] for x in both["data"]} == {bank["id"], card["id"]}
    await fake.request("POST", f"{base}/{bank['id']}", {"default_for_currency": True})
    removed = await fake.request("DELETE", f"{base}/{card['id']}")
    assert (removed["object"], removed["deleted"]) == ("card", True)
