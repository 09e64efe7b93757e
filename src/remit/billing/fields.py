"""Reading fields out of processor JSON, which is loosely typed and varies across API versions.

A reference may be an id or an expanded object; a number may be missing or null; an old API version may keep
a field where a newer one moved it. These helpers return ``None`` for anything not of the expected shape, so
a projection never fails on a field it only copies into a filter column (the full object is kept anyway).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

#: Largest integer a BIGINT column holds.
MAX_BIGINT = 2**63 - 1


def ref(value: Any) -> str | None:
    """The id of a reference that is either an id string or an expanded object."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        inner = value.get("id")
        return inner if isinstance(inner, str) and inner else None
    return None


def dig(obj: Any, *path: str) -> Any:
    """``obj[path[0]][path[1]]…``, or ``None`` where any step is missing or not a mapping."""
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def integer(value: Any) -> int | None:
    """An integer that fits a BIGINT column; booleans and other types are not integers here."""
    if isinstance(value, int) and not isinstance(value, bool) and -MAX_BIGINT <= value <= MAX_BIGINT:
        return value
    return None


def boolean(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def text(value: Any, limit: int) -> str | None:
    """A string cut to ``limit`` characters (so a filter column never overflows), else ``None``."""
    return value[:limit] if isinstance(value, str) else None


def currency(value: Any) -> str | None:
    """An ISO currency code, lower-cased as Stripe writes it; anything else is ``None``."""
    return value.lower() if isinstance(value, str) and len(value) == 3 else None


def timestamp(value: Any) -> datetime | None:
    """A Unix timestamp (Stripe's time format) as an aware UTC datetime."""
    number = integer(value)
    if number is None:
        return None
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def list_data(value: Any) -> tuple[list[Mapping[str, Any]], bool] | None:
    """The objects of an embedded list (``{"object": "list", "data": […], "has_more": …}``) and whether the
    list is complete; ``None`` when the field is not such a list (absent, or not expanded)."""
    if not isinstance(value, Mapping) or not isinstance(value.get("data"), list):
        return None
    items = [item for item in value["data"] if isinstance(item, Mapping)]
    return items, value.get("has_more") is not True


__all__ = ["boolean", "currency", "dig", "integer", "list_data", "ref", "text", "timestamp"]
