"""Stripe's search query language as the fake parses and matches it (pure)."""

import pytest

from remit.processor.fake.search import Clause, Query, QueryError, matches, parse, validate

CUSTOMER = {
    "id": "cus_1",
    "email": "Ada@Example.com",
    "name": "Ada Lovelace",
    "phone": None,
    "created": 1_700_000_000,
    "metadata": {"plan": "pro", "seats": "12"},
}


def test_clauses_join_with_and_and_keep_quotes_and_metadata_keys():
    query = parse("email:\"ada@example.com\" AND metadata['plan']:'pro' AND created>1699999999")
    assert query == Query(
        (
            Clause("email", ":", "ada@example.com"),
            Clause("metadata", ":", "pro", metadata_key="plan"),
            Clause("created", ">", 1699999999),
        )
    )
    assert matches(query, CUSTOMER)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("email:'ADA@example.COM'", True),  # text matches case-insensitively
        ("email:'bob@example.com'", False),
        ("name~'love'", True),
        ("-name~'love'", False),
        ("created>=1700000000 AND created<1700000001", True),
        ("created<1700000000", False),
        ("phone:null", True),
        ("-phone:null", False),
        ("metadata['seats']:'12' OR metadata['plan']:'basic'", True),
        ("metadata['seats']:'13' OR metadata['plan']:'basic'", False),
        ("metadata['missing']:null", True),
        ("name:'Ada \\'Lovelace\\''", False),
    ],
)
def test_matching(text, expected):
    query = parse(text)
    validate(query, "customers")
    assert matches(query, CUSTOMER) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("email:'a' AND name:'b' OR phone:'c'", "Combining AND and OR"),
        ("email 'a'", "operator"),
        ("email:'unterminated", "unterminated"),
        ("email:ada@example.com", "value was expected"),
        ("email:'a' name:'b'", "AND or OR"),
        ("metadata[plan]:'pro'", "quoted"),
        (" AND ".join(["email:'a'"] * 11), "at most 10"),
    ],
)
def test_malformed_queries_are_refused(text, message):
    with pytest.raises(QueryError, match=message):
        parse(text)


@pytest.mark.parametrize(
    ("text", "resource", "message"),
    [
        ("status:'active'", "customers", "unsupported search field for resource `customers`"),
        ("metadata:'x'", "customers", "unsupported search field"),
        ("email>5", "customers", "compares numbers"),
        ("name~'ad'", "customers", "at least 3"),
        ("created~'170'", "customers", "searches text"),
        ("total:'abc'", "invoices", "takes a number"),
    ],
)
def test_fields_and_operators_are_checked_per_resource(text, resource, message):
    with pytest.raises(QueryError, match=message):
        validate(parse(text), resource)


def test_references_match_by_id_and_numbers_exactly():
    invoice = {"customer": {"id": "cus_1"}, "total": 2000, "status": "paid", "metadata": {}}
    query = parse("customer:'cus_1' AND total:2000 AND status:'paid'")
    validate(query, "invoices")
    assert matches(query, invoice)
    assert not matches(parse("total:200"), invoice)
