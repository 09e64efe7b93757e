"""remit.db.storable: what a row cannot hold on both databases, found before the database is asked (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from remit.db.storable import MAX_JSON_DEPTH, nesting_exceeds, unstorable_field
from remit.db.tables.mirror import customers, subscriptions
from remit.jobs.records import describe_error, error_message

#: A loaded machine must not turn a slow example into a failure.
patient = settings(deadline=None)

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def nested(depth: int) -> Any:
    """A document ``depth`` levels deep: dicts and lists alternating."""
    document: Any = {}
    for level in range(depth - 1):
        document = [document] if level % 2 else {"a": document}
    return document


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ({"stripe_id": "cus_1", "data": {"name": "Ada"}}, None),
        ({"stripe_id": "cus_1\x00", "data": {}}, "stripe_id contains a NUL character"),
        ({"stripe_id": "c" * 255, "data": {}}, None),
        ({"stripe_id": "c" * 256, "data": {}}, "stripe_id is longer than 255 characters"),
        ({"currency": "usdx"}, "currency is longer than 3 characters"),
        ({"data": {"name": "Ada\x00"}}, "data.name contains a NUL character"),
        ({"data": {"lines": [{"x": 1}, {"note": "\x00"}]}}, "data.lines[1].note contains a NUL character"),
        ({"data": {"metadata": {"Ada Lovelace's note": "\x00"}}}, "data.metadata.… contains a NUL character"),
        ({"data": {"metadata": {"k\x00": "v"}}}, "data.metadata has a key with a NUL character"),
        ({"data": nested(MAX_JSON_DEPTH)}, None),
        ({"data": nested(MAX_JSON_DEPTH + 1)}, f"data is nested deeper than {MAX_JSON_DEPTH} levels"),
        ({"data": nested(1000)}, f"data is nested deeper than {MAX_JSON_DEPTH} levels"),
        ({"balance": 2**63 - 1, "delinquent": True, "created": NOW, "unknown_column": "\x00"}, None),
    ],
)
def test_unstorable_field(row: dict[str, Any], problem: str | None) -> None:
    assert unstorable_field(customers, row) == problem


def test_the_first_offending_field_is_named_in_row_order() -> None:
    row = {"stripe_id": "sub_1", "data": {"a": "\x00", "b": "\x00"}, "customer_id": "c" * 300}
    assert unstorable_field(subscriptions, row) == "data.a contains a NUL character"


def test_values_are_never_quoted() -> None:
    secret = "Ada Lovelace <ada@example.com>\x00"
    for row in ({"stripe_id": secret}, {"data": {"name": secret}}, {"data": {secret: 1}}):
        problem = unstorable_field(customers, row)
        assert problem is not None
        assert "Ada" not in problem
        assert "example" not in problem


@patient
@given(st.integers(1, 200), st.integers(1, 100))
def test_property_nesting_exceeds_counts_levels_exactly(depth: int, limit: int) -> None:
    assert nesting_exceeds(nested(depth), limit) is (depth > limit)


@patient
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=30,
    )
)
def test_property_shallow_documents_of_any_shape_pass(document: Any) -> None:
    assert not nesting_exceeds(document, 1000)
    text_with_nul = any("\x00" in s for s in _strings(document))
    assert (unstorable_field(customers, {"data": document}) is not None) is text_with_nul


def _strings(document: Any) -> list[str]:
    if isinstance(document, str):
        return [document]
    if isinstance(document, dict):
        return [s for key, value in document.items() for s in [key, *_strings(value)]]
    if isinstance(document, list):
        return [s for value in document for s in _strings(value)]
    return []


def test_a_database_error_is_described_by_its_classes_and_code_only() -> None:
    """What a job or a webhook handler keeps of a database error (``errors``, ``last_error``)."""
    import psycopg.errors

    failure = sa.exc.IntegrityError(
        "INSERT INTO users (email) VALUES (%(email)s)",
        {"email": "ada@example.com"},
        psycopg.errors.UniqueViolation('duplicate key value violates unique constraint "users_email_key"'),
    )
    assert error_message(failure) == "IntegrityError: UniqueViolation (SQLSTATE 23505)"
    described = describe_error(failure, 2, NOW)
    assert described == {
        "attempt": 2,
        "at": NOW.isoformat(),
        "type": "IntegrityError",
        "message": "IntegrityError: UniqueViolation (SQLSTATE 23505)",
    }


def test_other_messages_are_kept_cut_and_redacted() -> None:
    assert error_message(ValueError("seats must be a whole number")) == "seats must be a whole number"
    assert error_message(ValueError("key sk_live_abcdef123456 for ada@example.com")) == (
        "key sk_[redacted] for [redacted]"
    )
    long = error_message(ValueError("x" * 2000))
    assert len(long) == 500
    assert long.endswith("…")
