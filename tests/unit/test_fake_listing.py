"""Lists and search results paged as Stripe pages them (pure)."""

import pytest

from remit.processor.fake.errors import ApiError
from remit.processor.fake.listing import page, search_page
from remit.processor.fake.params import Params

ITEMS = [{"id": f"cus_{n}", "object": "customer", "created": 100 + n} for n in range(5, 0, -1)]  # newest first


def ids(answer: dict) -> list[str]:
    return [item["id"] for item in answer["data"]]


def test_cursors_page_forward_and_back():
    first = page(ITEMS, Params({"limit": 2}), url="/v1/customers", object_type="customer")
    assert (ids(first), first["has_more"], first["object"], first["url"]) == (
        ["cus_5", "cus_4"],
        True,
        "list",
        "/v1/customers",
    )
    second = page(ITEMS, Params({"limit": 2, "starting_after": "cus_4"}), url="/u", object_type="customer")
    assert (ids(second), second["has_more"]) == (["cus_3", "cus_2"], True)
    back = page(ITEMS, Params({"limit": 2, "ending_before": "cus_2"}), url="/u", object_type="customer")
    assert (ids(back), back["has_more"]) == (["cus_4", "cus_3"], True)
    start = page(ITEMS, Params({"limit": 2, "ending_before": "cus_4"}), url="/u", object_type="customer")
    assert (ids(start), start["has_more"]) == (["cus_5"], False)


def test_created_filters_by_second_or_range():
    assert ids(page(ITEMS, Params({"created": 103}), url="/u", object_type="customer")) == ["cus_3"]
    ranged = page(ITEMS, Params({"created": {"gt": 101, "lte": 104}}), url="/u", object_type="customer")
    assert ids(ranged) == ["cus_4", "cus_3", "cus_2"]


@pytest.mark.parametrize(
    ("params", "status", "param"),
    [
        ({"limit": 0}, 400, "limit"),
        ({"limit": 101}, 400, "limit"),
        ({"starting_after": "cus_9"}, 404, "starting_after"),
        ({"ending_before": "cus_9"}, 404, "ending_before"),
        ({"starting_after": "cus_1", "ending_before": "cus_2"}, 400, None),
    ],
)
def test_bad_paging_is_refused(params, status, param):
    with pytest.raises(ApiError) as refused:
        page(ITEMS, Params(params), url="/u", object_type="customer")
    assert (refused.value.status, refused.value.param) == (status, param)


def test_search_results_page_with_next_page_tokens():
    first = search_page(ITEMS, Params({"limit": 3}), url="/v1/customers/search")
    assert (first["object"], ids(first), first["has_more"]) == ("search_result", ["cus_5", "cus_4", "cus_3"], True)
    rest = search_page(ITEMS, Params({"limit": 3, "page": first["next_page"]}), url="/v1/customers/search")
    assert (ids(rest), rest["has_more"], rest["next_page"]) == (["cus_2", "cus_1"], False, None)
    with pytest.raises(ApiError) as refused:
        search_page(ITEMS, Params({"page": "not-a-token"}), url="/u")
    assert refused.value.param == "page"
