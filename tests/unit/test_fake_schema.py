"""Declared parameters: what the fake refuses as Stripe refuses it, and how it types what it accepts (pure)."""

import pytest

from remit.processor.base import API_VERSION
from remit.processor.fake.errors import ApiError
from remit.processor.fake.schema import (
    LIST,
    array_of,
    boolean,
    conform,
    enum,
    hash_of,
    integer,
    map_of,
    metadata,
    range_filter,
    schema,
    string,
)
from remit.processor.fake.versions import DAHLIA, ENDIVE

DECLARED = schema(
    LIST,
    customer=string(required=True),
    description=string(emptyable=True),
    email=string(),
    items=array_of(hash_of(price=string(required=True), quantity=integer())),
    recurring=hash_of(interval=enum("day", "month", required=True)),
    metadata=metadata(),
    trial_end=integer(also=("now",)),
    confirm=boolean(),
    created=range_filter(),
    price=string().between(until=DAHLIA),
    pricing=hash_of(price=string()).between(since=DAHLIA),
    coupon=string().refused(),
)


def refusal(data, version=API_VERSION) -> dict:
    with pytest.raises(ApiError) as refused:
        conform(DECLARED, data, version)
    assert refused.value.status == 400
    body: dict = refused.value.body()["error"]
    return body


def test_unknown_parameters_are_named_as_stripe_names_them():
    assert refusal({"customer": "c", "colour": "red"}) == {
        "type": "invalid_request_error",
        "code": "parameter_unknown",
        "doc_url": "https://stripe.com/docs/error-codes/parameter-unknown",
        "message": "Received unknown parameter: colour",
        "param": "colour",
    }
    assert refusal({"customer": "c", "items": [{"price": "p"}, {"prise": "p"}]})["param"] == "items[1][prise]"
    assert refusal({"customer": "c", "recurring": {"interval": "day", "every": "2"}})["param"] == "recurring[every]"
    assert refusal({"customer": "c", "created": {"after": "1"}})["param"] == "created[after]"


def test_unknown_parameters_are_reported_before_missing_ones():
    assert refusal({"colour": "red"})["code"] == "parameter_unknown"
    assert refusal({})["message"] == "Missing required param: customer."
    assert refusal({"customer": "c", "items": [{"quantity": "2"}]})["param"] == "items[0][price]"


@pytest.mark.parametrize(
    ("data", "param", "message"),
    [
        ({"email": ""}, "email", "You passed an empty string for 'email'."),
        ({"limit": "ten"}, "limit", "Invalid integer: ten"),
        ({"trial_end": "later"}, "trial_end", "Invalid integer: later"),
        ({"confirm": "yes"}, "confirm", "Invalid boolean: yes"),
        ({"recurring": {"interval": "year"}}, "recurring[interval]", "must be one of day, or month"),
        ({"recurring": "monthly"}, "recurring", "Invalid hash"),
        ({"items": "price_1"}, "items", "Invalid array"),
        ({"email": {"a": "b"}}, "email", "Invalid string"),
        ({"metadata": {"k" * 41: "v"}}, "metadata[" + "k" * 41 + "]", "up to 40 characters"),
        ({"metadata": {"k": "v" * 501}}, "metadata[k]", "up to 500 characters"),
        ({"metadata": {f"k{i}": "v" for i in range(51)}}, "metadata", "up to 50 keys"),
        ({"coupon": "SAVE"}, "coupon", "does not implement the parameter coupon"),
    ],
)
def test_malformed_values_are_refused_naming_the_parameter(data, param, message):
    error = refusal({"customer": "c", **data})
    assert error["param"] == param
    assert message in error["message"]


def test_accepted_values_are_typed_and_emptyable_ones_may_be_empty():
    conformed = conform(
        DECLARED,
        {
            "customer": "c",
            "limit": "3",
            "confirm": "true",
            "trial_end": "now",
            "description": "",
            "metadata": "",
            "items": [{"price": "p", "quantity": "2"}],
            "created": {"gte": "10"},
            "expand": ["customer"],
        },
    )
    assert conformed == {
        "customer": "c",
        "limit": 3,
        "confirm": True,
        "trial_end": "now",
        "description": "",
        "metadata": "",
        "items": [{"price": "p", "quantity": 2}],
        "created": {"gte": 10},
        "expand": ["customer"],
    }
    assert conform(DECLARED, {"customer": "c", "limit": 3, "confirm": False}) == {
        "customer": "c",
        "limit": 3,
        "confirm": False,
    }


def test_parameters_of_some_versions_only_are_unknown_in_the_others():
    assert conform(DECLARED, {"customer": "c", "price": "p"}) == {"customer": "c", "price": "p"}
    assert refusal({"customer": "c", "price": "p"}, DAHLIA)["code"] == "parameter_unknown"
    assert refusal({"customer": "c", "pricing": {"price": "p"}})["code"] == "parameter_unknown"
    assert conform(DECLARED, {"customer": "c", "pricing": {"price": "p"}}, ENDIVE)["pricing"] == {"price": "p"}


def test_a_map_takes_any_key_and_checks_each_value_as_declared():
    declared = schema(
        currency_options=map_of(hash_of(unit_amount=integer(), tiers=string().refused())),
    )
    typed = conform(declared, {"currency_options": {"eur": {"unit_amount": "1800"}, "gbp": {"unit_amount": "1500"}}})
    assert typed["currency_options"] == {"eur": {"unit_amount": 1800}, "gbp": {"unit_amount": 1500}}
    unknown = refusal_of(declared, {"currency_options": {"eur": {"unit_amount": "1", "amount": "2"}}})
    assert (unknown["code"], unknown["param"]) == ("parameter_unknown", "currency_options[eur][amount]")
    wrong = refusal_of(declared, {"currency_options": {"eur": {"unit_amount": "many"}}})
    assert (wrong["code"], wrong["param"]) == ("parameter_invalid_integer", "currency_options[eur][unit_amount]")
    assert (
        refusal_of(declared, {"currency_options": {"eur": {"tiers": "x"}}})["param"] == "currency_options[eur][tiers]"
    )
    assert refusal_of(declared, {"currency_options": "eur"})["message"] == "Invalid hash: currency_options"


def refusal_of(declared, data) -> dict:
    with pytest.raises(ApiError) as refused:
        conform(declared, data)
    return refused.value.body("req_test")["error"]
