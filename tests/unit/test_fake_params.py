import pytest

from remit.processor.fake.errors import ApiError
from remit.processor.fake.params import Params, canonical, decode_body, decode_form, merge_metadata


def test_decode_form_nests_brackets_and_turns_indices_into_lists():
    pairs = [
        ("customer", "cus_1"),
        ("items[0][price]", "price_1"),
        ("items[0][quantity]", "2"),
        ("items[1][price]", "price_2"),
        ("metadata[plan]", "pro"),
        ("expand[]", "a"),
        ("expand[]", "b"),
    ]
    assert decode_form(pairs) == {
        "customer": "cus_1",
        "items": [{"price": "price_1", "quantity": "2"}, {"price": "price_2"}],
        "metadata": {"plan": "pro"},
        "expand": ["a", "b"],
    }


def test_decode_body_keeps_blank_values_and_orders_list_indices_numerically():
    body = b"metadata[gone]=&lines[10][a]=x&lines[2][a]=y"
    assert decode_body(body) == {"metadata": {"gone": ""}, "lines": [{"a": "y"}, {"a": "x"}]}


def test_params_coerce_form_strings_and_python_values_alike():
    form, native = Params({"n": "20", "b": "true", "m": {"k": "v"}}), Params({"n": 20, "b": True, "m": {"k": "v"}})
    for p in (form, native):
        assert p.integer("n") == 20
        assert p.boolean("b") is True
        assert p.sub("m").string("k") == "v"
    assert Params({}).integer("n", 5) == 5


@pytest.mark.parametrize(
    ("data", "call"),
    [
        ({"n": "x"}, lambda p: p.integer("n")),
        ({"b": "maybe"}, lambda p: p.boolean("b")),
        ({"m": "text"}, lambda p: p.mapping("m")),
        ({}, lambda p: p.require_str("customer")),
    ],
)
def test_params_answer_stripe_400s(data, call):
    with pytest.raises(ApiError) as caught:
        call(Params(data))
    assert caught.value.status == 400
    assert caught.value.body()["error"]["type"] == "invalid_request_error"


def test_metadata_merges_deletes_empty_values_and_clears_on_empty_string():
    assert merge_metadata({"a": "1", "b": "2"}, {"b": "", "c": 3}) == {"a": "1", "c": "3"}
    assert merge_metadata({"a": "1"}, "") == {}
    assert merge_metadata({"a": "1"}, None) == {"a": "1"}


def test_canonical_makes_form_and_native_parameters_equal():
    assert canonical({"amount": 2000, "confirm": True, "x": None}) == canonical({"amount": "2000", "confirm": "true"})
