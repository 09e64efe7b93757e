"""Building request parameters the way Stripe expects them, shared by the fake and the live adapter (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def request_params(extra: Mapping[str, Any] | None = None, **given: Any) -> dict[str, Any]:
    """The given parameters that are set, then ``extra`` (the caller's pass-through fields) on top."""
    params = {key: value for key, value in given.items() if value is not None}
    if extra:
        params.update(extra)
    return params


def balance_transaction_list_params(
    *, type: str | None, created_gte: int | None, created_lte: int | None, limit: int, starting_after: str | None
) -> dict[str, Any]:
    """The query of one page of ``GET /v1/balance_transactions``, as both processors send it: the set filters,
    with the creation bounds nested under ``created`` (Stripe's ``created[gte]``/``created[lte]``)."""
    params = request_params(type=type, limit=limit, starting_after=starting_after)
    return _created_between(params, created_gte, created_lte)


def event_list_params(
    *, types: Sequence[str], created_gte: int | None, created_lte: int | None, limit: int, starting_after: str | None
) -> dict[str, Any]:
    """The query of one page of ``GET /v1/events``, as both processors send it: ``types`` (when given) and the
    creation bounds nested under ``created``."""
    params = request_params(limit=limit, starting_after=starting_after, types=list(types) or None)
    return _created_between(params, created_gte, created_lte)


def _created_between(params: dict[str, Any], gte: int | None, lte: int | None) -> dict[str, Any]:
    """``params`` with the set creation bounds nested under ``created`` (Stripe's ``created[gte]``/``[lte]``)."""
    created = request_params(gte=gte, lte=lte)
    if created:
        params["created"] = created
    return params


def item_change(current: Mapping[str, Any], *, price: str | None, quantity: int | None) -> list[dict[str, Any]] | None:
    """The ``items`` of a plan change on a single-item subscription: the existing item with its new price
    and/or quantity (replacing the item, not adding one); None when neither changes."""
    if price is None and quantity is None:
        return None
    item: dict[str, Any] = {"id": current["items"]["data"][0]["id"]}
    if price is not None:
        item["price"] = price
    if quantity is not None:
        item["quantity"] = quantity
    return [item]
