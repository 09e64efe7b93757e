"""``expand[]``: replace an id in an answer by the object it names, as Stripe does.

A path is dotted (``latest_invoice.payment_intent``; ``data.customer`` inside a list or search result) and at
most four levels deep. Each step must name a field of the object reached so far that holds an id (or an
object already expanded): anything else is Stripe's 400 ``This property cannot be expanded``. An id the fake
knows becomes its object (a deleted customer its deleted stub); ``null`` stays ``null``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from remit.processor.fake.errors import INVALID_REQUEST, ApiError

MAX_DEPTH = 4

#: Fetch an object by id (None when the fake has no such object).
Lookup = Callable[[str], Awaitable[dict[str, Any] | None]]

_LISTS = {"list", "search_result"}
#: Fields Stripe leaves out unless expanded (by object type): the operation that answers includes them when
#: ``expand[]`` names them, so expanding has nothing left to do.
INCLUDABLE: dict[str, frozenset[str]] = {
    "price": frozenset({"currency_options"}),
    "quote": frozenset({"line_items"}),
}


def cannot_expand(path: str, hint: str = "") -> ApiError:
    return ApiError(400, INVALID_REQUEST, f"This property cannot be expanded ({path}).{hint}", param="expand")


async def expand(body: dict[str, Any], paths: Sequence[str], lookup: Lookup) -> dict[str, Any]:
    """``body`` with every path expanded (in place; ``body`` is returned for convenience)."""
    for path in paths:
        parts = [part for part in str(path).split(".") if part]
        if not parts or len(parts) > MAX_DEPTH:
            raise ApiError(
                400,
                INVALID_REQUEST,
                f"You cannot expand more than {MAX_DEPTH} levels of a property ({path}).",
                param="expand",
            )
        await _expand(body, parts, str(path), lookup)
    return body


async def _expand(node: dict[str, Any], parts: list[str], path: str, lookup: Lookup) -> None:
    head, rest = parts[0], parts[1:]
    if node.get("object") == "search_result" and parts == ["total_count"]:
        return  # counted by the search itself
    if node.get("object") in _LISTS:
        if head != "data":
            raise cannot_expand(path, f" You may want to try expanding 'data.{path}' instead.")
        for item in node.get("data") or []:
            if isinstance(item, dict) and rest:
                await _expand(item, rest, path, lookup)
        return
    if not rest and head in INCLUDABLE.get(str(node.get("object")), frozenset()):
        return
    if head not in node:
        raise cannot_expand(path)
    value = node[head]
    if isinstance(value, str):
        found = await lookup(value)
        if found is None:
            raise cannot_expand(path)
        node[head] = value = found
    elif value is not None and not (isinstance(value, dict) and "id" in value):
        raise cannot_expand(path)
    if rest and isinstance(value, dict):
        await _expand(value, rest, path, lookup)


__all__ = ["INCLUDABLE", "MAX_DEPTH", "Lookup", "cannot_expand", "expand"]
