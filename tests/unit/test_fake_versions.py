"""API versions: which ``Stripe-Version`` the fake answers in and how an object changes between them (pure)."""

import pytest

from remit.processor.base import API_VERSION
from remit.processor.fake.errors import ApiError
from remit.processor.fake.versions import DAHLIA, ENDIVE, KNOWN_VERSIONS, render, requested


def test_the_account_version_answers_requests_without_one():
    assert KNOWN_VERSIONS[0] == API_VERSION
    assert requested(None) == requested("") == API_VERSION
    assert requested(ENDIVE) == ENDIVE


@pytest.mark.parametrize("version", ["2019-02-19", "2026-13-01", "2019-2-19", "latest"])
def test_other_versions_are_refused_as_stripe_refuses_them(version):
    with pytest.raises(ApiError) as refused:
        requested(version)
    error = refused.value.body()["error"]
    assert (refused.value.status, error["type"]) == (400, "invalid_request_error")
    assert error["message"].startswith(f"Invalid Stripe API version: {version}")


SUBSCRIPTION = {
    "id": "sub_1",
    "object": "subscription",
    "current_period_start": 100,
    "current_period_end": 200,
    "plan": {"id": "price_1", "object": "plan", "aggregate_usage": None},
    "quantity": 1,
    "discount": None,
    "items": {
        "object": "list",
        "data": [{"id": "si_1", "object": "subscription_item", "price": {"id": "price_1", "currency": "eur"}}],
    },
}


def test_newer_versions_move_a_subscriptions_period_onto_its_items():
    assert render(SUBSCRIPTION, API_VERSION) == SUBSCRIPTION
    modern = render(SUBSCRIPTION, DAHLIA)
    assert "current_period_start" not in modern
    assert {"plan", "quantity", "discount"} & set(modern) == set()
    item = modern["items"]["data"][0]
    assert (item["current_period_start"], item["current_period_end"]) == (100, 200)
    assert modern["currency"] == "eur"
    assert "status_details" not in modern
    assert render(SUBSCRIPTION, ENDIVE)["status_details"] is None
    assert SUBSCRIPTION["current_period_start"] == 100  # the stored object is untouched


def test_newer_versions_name_an_invoices_subscription_under_parent():
    invoice = {"id": "in_1", "object": "invoice", "subscription": "sub_1", "paid": True, "charge": "ch_1"}
    modern = render(invoice, DAHLIA)
    assert modern["parent"]["subscription_details"]["subscription"] == "sub_1"
    assert {"subscription", "paid", "charge"} & set(modern) == set()
    assert render(dict(invoice, subscription=None), DAHLIA)["parent"] is None


def test_fields_kept_for_later_versions_are_dropped_from_the_account_version():
    listed = {"id": "si_1", "object": "subscription_item", "current_period_start": 1, "current_period_end": 2}
    assert render(listed, API_VERSION) == {"id": "si_1", "object": "subscription_item"}
    canceled = {"id": "sub_1", "object": "subscription", "cancellation_details": {"feedback": "unused"}}
    assert render(canceled, API_VERSION) == {"id": "sub_1", "object": "subscription"}
    assert render(canceled, ENDIVE)["cancellation_details"] == {"feedback": "unused"}
    assert render({"id": "cus_1", "object": "customer", "deleted": True}, DAHLIA) == {
        "id": "cus_1",
        "object": "customer",
        "deleted": True,
    }
