"""Stripe's search query language, the part a billing app uses: a parser and a matcher, both pure.

A query is up to ten clauses joined by ``AND`` or by ``OR`` (never both, as at Stripe)::

    email:"ada@example.com" AND metadata['plan']:'pro' AND created>1700000000 AND -status:"canceled"

A clause is a field (``email``, a dotted path such as ``billing_details.address.postal_code``, or
``metadata['key']``), an operator — ``:`` (equals, case-insensitive for text), ``~`` (contains, at least three
characters), ``>``, ``<``, ``>=``, ``<=`` (numbers and times) — and a value: a quoted string (single or double
quotes, ``\\`` escapes), a number, or ``null`` (``-field:null`` means "is set"). A leading ``-`` negates it.
Each searchable resource declares which fields may be queried and of which type (:data:`FIELDS`); another
field is refused as Stripe refuses it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from remit.processor.fake.errors import INVALID_REQUEST, ApiError

MAX_CLAUSES = 10
MIN_SUBSTRING = 3


class FieldType(StrEnum):
    TEXT = "text"  # case-insensitive; ``:`` equals, ``~`` contains
    KEYWORD = "keyword"  # ids, statuses, currencies: exact (case-insensitive) match
    NUMBER = "number"  # amounts and timestamps: ``:`` and comparisons
    BOOLEAN = "boolean"
    METADATA = "metadata"


#: The query fields of each searchable resource (Stripe's, for the objects the fake keeps).
FIELDS: dict[str, dict[str, FieldType]] = {
    "customers": {
        "created": FieldType.NUMBER,
        "email": FieldType.TEXT,
        "metadata": FieldType.METADATA,
        "name": FieldType.TEXT,
        "phone": FieldType.TEXT,
    },
    "invoices": {
        "created": FieldType.NUMBER,
        "currency": FieldType.KEYWORD,
        "customer": FieldType.KEYWORD,
        "metadata": FieldType.METADATA,
        "number": FieldType.KEYWORD,
        "receipt_number": FieldType.KEYWORD,
        "status": FieldType.KEYWORD,
        "subscription": FieldType.KEYWORD,
        "total": FieldType.NUMBER,
    },
    "prices": {
        "active": FieldType.BOOLEAN,
        "created": FieldType.NUMBER,
        "currency": FieldType.KEYWORD,
        "lookup_key": FieldType.KEYWORD,
        "metadata": FieldType.METADATA,
        "product": FieldType.KEYWORD,
        "type": FieldType.KEYWORD,
    },
    "products": {
        "active": FieldType.BOOLEAN,
        "created": FieldType.NUMBER,
        "description": FieldType.TEXT,
        "metadata": FieldType.METADATA,
        "name": FieldType.TEXT,
        "shippable": FieldType.BOOLEAN,
        "url": FieldType.TEXT,
    },
    "subscriptions": {
        "created": FieldType.NUMBER,
        "metadata": FieldType.METADATA,
        "status": FieldType.KEYWORD,
    },
    "charges": {
        "amount": FieldType.NUMBER,
        "billing_details.address.postal_code": FieldType.TEXT,
        "created": FieldType.NUMBER,
        "currency": FieldType.KEYWORD,
        "customer": FieldType.KEYWORD,
        "disputed": FieldType.BOOLEAN,
        "metadata": FieldType.METADATA,
        "payment_method_details.card.last4": FieldType.KEYWORD,
        "refunded": FieldType.BOOLEAN,
        "status": FieldType.KEYWORD,
    },
    "payment_intents": {
        "amount": FieldType.NUMBER,
        "created": FieldType.NUMBER,
        "currency": FieldType.KEYWORD,
        "customer": FieldType.KEYWORD,
        "metadata": FieldType.METADATA,
        "status": FieldType.KEYWORD,
    },
}

_OPERATORS = (">=", "<=", ":", "~", ">", "<")


@dataclass(frozen=True, slots=True)
class Clause:
    field: str
    operator: str
    value: str | int | None  # None: ``null``
    negated: bool = False
    metadata_key: str | None = None


@dataclass(frozen=True, slots=True)
class Query:
    clauses: tuple[Clause, ...]
    any_of: bool = False  # True: OR, False: AND


class QueryError(ValueError):
    """A query the language does not allow; the message is what Stripe would say."""


def query_error(message: str) -> ApiError:
    return ApiError(400, INVALID_REQUEST, message, param="query")


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def skip_space(self) -> None:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def done(self) -> bool:
        self.skip_space()
        return self.at >= len(self.text)

    def peek(self, token: str) -> bool:
        return self.text.startswith(token, self.at)

    def fail(self, what: str) -> QueryError:
        return QueryError(f"Query is not valid: {what} at position {self.at + 1} of the query.")

    def quoted(self) -> str:
        quote = self.text[self.at]
        self.at += 1
        out: list[str] = []
        while self.at < len(self.text):
            char = self.text[self.at]
            if char == "\\" and self.at + 1 < len(self.text):
                out.append(self.text[self.at + 1])
                self.at += 2
                continue
            if char == quote:
                self.at += 1
                return "".join(out)
            out.append(char)
            self.at += 1
        raise self.fail("an unterminated string")

    def field(self) -> tuple[str, str | None]:
        if self.peek("metadata["):
            self.at += len("metadata[")
            if self.at >= len(self.text) or self.text[self.at] not in "'\"":
                raise self.fail("a metadata key must be quoted, as in metadata['key']")
            key = self.quoted()
            if not self.peek("]"):
                raise self.fail("a missing ']' after the metadata key")
            self.at += 1
            return "metadata", key
        found = re.compile(r"[a-z_][a-z0-9_.]*").match(self.text, self.at)
        if found is None:
            raise self.fail("a field name was expected")
        self.at = found.end()
        return found.group(0), None

    def operator(self) -> str:
        for operator in _OPERATORS:
            if self.peek(operator):
                self.at += len(operator)
                return operator
        raise self.fail("an operator (:, ~, >, <, >=, <=) was expected")

    def value(self) -> str | int | None:
        if self.at < len(self.text) and self.text[self.at] in "'\"":
            return self.quoted()
        found = re.compile(r"-?\d+(?:\.\d+)?|null\b").match(self.text, self.at)
        if found is None:
            raise self.fail("a value was expected: a quoted string, a number or null")
        self.at = found.end()
        literal = found.group(0)
        if literal == "null":
            return None
        return int(float(literal)) if "." in literal else int(literal)

    def connector(self) -> str:
        found = re.compile(r"(AND|OR)\s").match(self.text, self.at)
        if found is None:
            raise self.fail("AND or OR was expected between clauses")
        self.at = found.end()
        return found.group(1)


def parse(text: str) -> Query:
    """Parse a query (raises :class:`QueryError` with Stripe's kind of message)."""
    reader = _Reader(text)
    if reader.done():
        raise QueryError("Query is not valid: the query is empty.")
    clauses: list[Clause] = []
    connectors: set[str] = set()
    while True:
        reader.skip_space()
        negated = reader.peek("-")
        if negated:
            reader.at += 1
        field, key = reader.field()
        operator = reader.operator()
        value = reader.value()
        clauses.append(Clause(field, operator, value, negated, key))
        if reader.done():
            break
        reader.skip_space()
        connectors.add(reader.connector())
    if len(connectors) > 1:
        raise QueryError("Combining AND and OR clauses in a single query is not supported.")
    if len(clauses) > MAX_CLAUSES:
        raise QueryError(f"A query can have at most {MAX_CLAUSES} clauses.")
    return Query(tuple(clauses), any_of=connectors == {"OR"})


def validate(query: Query, resource: str) -> None:
    """Refuse clauses on fields ``resource`` cannot be searched by, or with the wrong kind of value."""
    fields = FIELDS[resource]
    for clause in query.clauses:
        kind = fields.get(clause.field)
        if kind is None or (kind is FieldType.METADATA) != (clause.metadata_key is not None):
            raise QueryError(
                f"Field `{clause.field}` is an unsupported search field for resource `{resource}`. See "
                f"https://stripe.com/docs/search#query-fields-for-{resource.replace('_', '-')} for a list of "
                "supported fields."
            )
        comparison = clause.operator in {">", "<", ">=", "<="}
        if comparison and (kind is not FieldType.NUMBER or not isinstance(clause.value, int)):
            raise QueryError(f"Query is not valid: `{clause.operator}` compares numbers, not `{clause.field}`.")
        if clause.operator == "~":
            if kind not in {FieldType.TEXT, FieldType.METADATA} or not isinstance(clause.value, str):
                raise QueryError(f"Query is not valid: `~` searches text, not `{clause.field}`.")
            if len(clause.value) < MIN_SUBSTRING:
                raise QueryError(f"Query is not valid: a substring search needs at least {MIN_SUBSTRING} characters.")
        if (
            kind is FieldType.NUMBER
            and clause.value is not None
            and not isinstance(clause.value, int)
            and not str(clause.value).lstrip("-").isdigit()
        ):
            raise QueryError(f"Query is not valid: `{clause.field}` takes a number.")


def _lookup(obj: Mapping[str, Any], clause: Clause) -> Any:
    if clause.metadata_key is not None:
        return (obj.get("metadata") or {}).get(clause.metadata_key)
    value: Any = obj
    for part in clause.field.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    if isinstance(value, Mapping) and "id" in value:  # an expanded reference
        return value["id"]
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).lower()


def _holds(clause: Clause, actual: Any) -> bool:
    if clause.value is None:
        return actual is None or actual == ""
    if actual is None:
        return False
    expected = clause.value
    if clause.operator == ":":
        if isinstance(expected, int) and not isinstance(actual, bool) and isinstance(actual, int):
            return actual == expected
        return _text(actual) == _text(expected)
    if clause.operator == "~":
        return _text(expected) in _text(actual)
    try:
        number = int(actual)
    except (TypeError, ValueError):
        return False
    bound = int(expected)
    return {">": number > bound, "<": number < bound, ">=": number >= bound, "<=": number <= bound}[clause.operator]


def matches(query: Query, obj: Mapping[str, Any]) -> bool:
    results = (_holds(clause, _lookup(obj, clause)) != clause.negated for clause in query.clauses)
    return any(results) if query.any_of else all(results)


__all__ = [
    "FIELDS",
    "MAX_CLAUSES",
    "Clause",
    "FieldType",
    "Query",
    "QueryError",
    "matches",
    "parse",
    "query_error",
    "validate",
]
