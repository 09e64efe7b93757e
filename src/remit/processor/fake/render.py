"""Rendering objects as Stripe does: ``id`` and ``object`` first, every other key in alphabetical order.

The JSON columns of PostgreSQL (JSONB) do not keep key order, so the fake re-orders on the way out; a payload
then reads like Stripe's and is the same text on SQLite and PostgreSQL.
"""

from __future__ import annotations

import copy
import json
from typing import Any

_FIRST = ("id", "object")


def stripe_order(value: Any) -> Any:
    """A copy of ``value`` with every dict's keys in Stripe's order, recursively."""
    if isinstance(value, dict):
        first = [key for key in _FIRST if key in value]
        rest = sorted(key for key in value if key not in _FIRST)
        return {key: stripe_order(value[key]) for key in first + rest}
    if isinstance(value, list):
        return [stripe_order(item) for item in value]
    return value


def render(value: Any, *, pretty: bool = True) -> str:
    """JSON text in Stripe's key order; pretty (two-space indent) like Stripe's responses and payloads."""
    return json.dumps(stripe_order(value), indent=2 if pretty else None, ensure_ascii=False)


def snapshot(value: dict[str, Any]) -> dict[str, Any]:
    """A deep copy, so an event carries the object as it was when the event happened."""
    return copy.deepcopy(value)


__all__ = ["render", "snapshot", "stripe_order"]
