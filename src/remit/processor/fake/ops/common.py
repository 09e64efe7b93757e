"""What many operations share: a list page of one object type, a search, a metadata-and-fields update."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from remit.processor.fake import listing, search
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.tx import Tx

Predicate = Callable[[dict[str, Any]], bool]


def equal_to(p: Params, *fields: str) -> Predicate:
    """Objects whose ``field`` equals the parameter of the same name, for each one given (an absent parameter
    does not filter; an expanded reference compares by its id)."""
    wanted = {name: _text(p.raw(name)) for name in fields if p.has(name)}

    def holds(obj: dict[str, Any]) -> bool:
        for name, value in wanted.items():
            actual = obj.get(name)
            if isinstance(actual, dict):
                actual = actual.get("id")
            if actual is None or _text(actual) != value:
                return False
        return True

    return holds


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def listed(
    tx: Tx,
    p: Params,
    object_type: str,
    *,
    url: str,
    customer: str | None = None,
    where: Iterable[Predicate] = (),
    default_limit: int = listing.DEFAULT_LIMIT,
) -> dict[str, Any]:
    """One page of ``object_type`` (of ``customer``), newest first, filtered by every predicate."""
    tests = list(where)
    items = [obj.data for obj in await tx.list(object_type, customer=customer) if all(t(obj.data) for t in tests)]
    return listing.page(items, p, url=url, object_type=object_type, default_limit=default_limit)


async def searched(tx: Tx, p: Params, object_type: str, resource: str) -> dict[str, Any]:
    """``GET /v1/{resource}/search``: the objects matching ``query``, newest first, a page at a time (with
    ``total_count`` when ``expand[]=total_count`` asks for it, as at Stripe)."""
    try:
        query = search.parse(p.require_str("query"))
        search.validate(query, resource)
    except search.QueryError as exc:
        raise search.query_error(str(exc)) from None
    items = [obj.data for obj in await tx.list(object_type) if search.matches(query, obj.data)]
    found = listing.search_page(items, p, url=f"/v1/{resource}/search")
    if "total_count" in p.strings("expand"):
        found["total_count"] = len(items)
    return found


def apply_fields(after: dict[str, Any], p: Params, *names: str) -> None:
    """Copy each given parameter onto the object as sent ("" unsets a text field); ``metadata`` merges."""
    for name in names:
        if name not in p.data or p.raw(name) is None:
            continue
        value = p.raw(name)
        if name == "metadata":
            after["metadata"] = merge_metadata(after.get("metadata") or {}, value)
        elif value == "":
            after[name] = None
        else:
            after[name] = copy.deepcopy(value)


async def update_object(
    tx: Tx, p: Params, object_id: str, object_type: str, *names: str, event: str | None = None
) -> dict[str, Any]:
    """Set the given fields (and merge metadata) on a stored object; ``event`` with what changed, when
    anything did."""
    before = (await tx.get(object_id, object_type)).data
    after = copy.deepcopy(before)
    apply_fields(after, p, *names)
    if after != before:
        await tx.save(after)
        if event is not None:
            await tx.emit(event, after, before=before)
    return after


__all__ = ["Predicate", "apply_fields", "equal_to", "listed", "searched", "update_object"]
