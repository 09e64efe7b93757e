"""Whether a row can be stored at all, decided before the database is asked (pure: no I/O).

Some values fit SQLite but not PostgreSQL, and a statement that fails on them fails again on every retry: a
NUL character (PostgreSQL's ``text`` cannot hold one, nor can ``jsonb`` hold ``\\u0000``), a string longer than
its ``VARCHAR`` column (SQLite does not enforce the width; PostgreSQL refuses it), a JSON document nested so
deeply that the serialisers recurse past Python's limit. :func:`unstorable_field` finds the first such value
of a row for a table, so a caller can fail *permanently* — naming the field, never quoting the value — instead
of retrying a doomed insert for days. :func:`nesting_exceeds` is the depth rule alone, which webhook ingest
applies to whole bodies (:data:`MAX_JSON_DEPTH`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

#: The deepest JSON remit accepts or stores: objects and arrays inside one another, the outermost counted as 1.
#: Stripe's objects nest a handful of levels (expansions are capped at four); Python's serialisers recurse
#: once per level and stop near a thousand.
MAX_JSON_DEPTH = 64

NUL = "\x00"
#: How a key is shown in a field path; any other key (host metadata may hold anything) is shown as ``…``.
_SHOWN_KEY = re.compile(r"[A-Za-z0-9_\-]{1,64}")


def nesting_exceeds(document: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether parsed JSON (dicts and lists, as ``orjson``/``json`` return them) nests more than ``limit``
    deep. Iterative, so it never recurses however deep the document is; on the webhook hot path, so it tests
    exact types (an ``isinstance`` against ``Mapping`` costs several times more per value)."""
    stack: list[tuple[Any, int]] = [(document, 1)] if type(document) is dict or type(document) is list else []
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        children = value.values() if type(value) is dict else value
        for child in children:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
    return False


def _step(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if isinstance(key, str) and _SHOWN_KEY.fullmatch(key) else f"{path}.…"


def _json_problem(column: str, document: Any) -> str | None:
    """The first NUL in a key or string of ``document``, or nesting past :data:`MAX_JSON_DEPTH`."""
    stack: list[tuple[Any, str, int]] = [(document, column, 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if NUL in value:
                return f"{path} contains a NUL character"
            continue
        if isinstance(value, Mapping):
            items: list[tuple[Any, Any]] = list(value.items())
        elif isinstance(value, list | tuple):
            items = list(enumerate(value))
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            return f"{column} is nested deeper than {MAX_JSON_DEPTH} levels"
        for key, child in reversed(items):  # reversed: the first offending field is reported first
            if isinstance(key, str) and NUL in key:
                return f"{path} has a key with a NUL character"
            stack.append((child, _step(path, key), depth + 1))
    return None


def unstorable_field(table: sa.Table, row: Mapping[str, Any]) -> str | None:
    """The first value of ``row`` that ``table`` cannot hold on both databases, as ``"<field> <problem>"``
    (``customer_id is longer than 255 characters``, ``data.name contains a NUL character``), else None.

    Only the names of fields and the limits are said: the message is stored and shown to operators."""
    for name, value in row.items():
        column = table.c.get(name)
        if column is None or value is None:
            continue
        if isinstance(value, str):
            if NUL in value:
                return f"{name} contains a NUL character"
            length = getattr(column.type, "length", None)
            if isinstance(length, int) and len(value) > length:
                return f"{name} is longer than {length} characters"
        elif isinstance(column.type, sa.JSON):
            problem = _json_problem(name, value)
            if problem is not None:
                return problem
    return None


__all__ = ["MAX_JSON_DEPTH", "NUL", "nesting_exceeds", "unstorable_field"]
