"""Lists and search results as Stripe pages them (pure).

A list is ``{"object": "list", "data", "has_more", "url"}``, newest first, paged by ``limit`` (1 to 100, default
10) and one cursor, ``starting_after`` or ``ending_before`` (an id of the list); ``created`` filters it by an
exact second or a ``gt``/``gte``/``lt``/``lte`` range. A search result is ``{"object": "search_result", "data",
"has_more", "next_page", "url"}`` paged by ``limit`` and the opaque ``page`` token of the previous answer's
``next_page``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

from remit.processor.fake.errors import ApiError, invalid, missing
from remit.processor.fake.params import Params

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


def limit_of(p: Params, default: int = DEFAULT_LIMIT) -> int:
    limit = p.integer("limit", default)
    if limit is None:
        return default
    if limit < 1:
        raise invalid("This value must be greater than or equal to 1.", param="limit")
    if limit > MAX_LIMIT:
        raise invalid(f"This value must be less than or equal to {MAX_LIMIT}.", param="limit")
    return limit


def _created_filter(p: Params) -> Callable[[int], bool]:
    raw = p.raw("created")
    if raw is None or raw == "":
        return lambda created: True
    if not isinstance(raw, dict):
        exact = p.integer("created")
        return lambda created: created == exact
    bounds = p.sub("created")
    gt, gte, lt, lte = (bounds.integer(key) for key in ("gt", "gte", "lt", "lte"))
    return lambda created: (
        (gt is None or created > gt)
        and (gte is None or created >= gte)
        and (lt is None or created < lt)
        and (lte is None or created <= lte)
    )


def page(
    items: Sequence[dict[str, Any]],
    p: Params,
    *,
    url: str,
    object_type: str,
    default_limit: int = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """One page of a newest-first list; a cursor naming no item of the list is Stripe's 404."""
    limit = limit_of(p, default_limit)
    created = _created_filter(p)
    kept = [item for item in items if "created" not in item or created(int(item["created"]))]
    after, before = p.string("starting_after"), p.string("ending_before")
    if after and before:
        raise invalid("You may only specify one of these parameters: ending_before, starting_after.")
    ids = [item.get("id") for item in kept]
    if after:
        if after not in ids:
            raise missing(object_type, after, "starting_after")
        start = ids.index(after) + 1
        chunk = kept[start : start + limit]
        has_more = start + limit < len(kept)
    elif before:
        if before not in ids:
            raise missing(object_type, before, "ending_before")
        end = ids.index(before)
        chunk = kept[max(0, end - limit) : end]
        has_more = end - limit > 0
    else:
        chunk = kept[:limit]
        has_more = limit < len(kept)
    return {"object": "list", "data": list(chunk), "has_more": has_more, "url": url}


def _decode_page(token: str) -> int:
    try:
        offset = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("fake:"))
    except ValueError:
        raise ApiError(400, "invalid_request_error", "Invalid page: not a page token", param="page") from None
    if offset < 0:
        raise ApiError(400, "invalid_request_error", "Invalid page: not a page token", param="page")
    return offset


def _encode_page(offset: int) -> str:
    return base64.urlsafe_b64encode(f"fake:{offset}".encode()).decode()


def search_page(items: Sequence[dict[str, Any]], p: Params, *, url: str) -> dict[str, Any]:
    """One page of search results (newest first), with ``next_page`` when there are more."""
    limit = limit_of(p)
    token = p.string("page")
    start = _decode_page(token) if token else 0
    chunk = list(items[start : start + limit])
    more = start + limit < len(items)
    return {
        "object": "search_result",
        "data": chunk,
        "has_more": more,
        "next_page": _encode_page(start + limit) if more else None,
        "url": url,
    }


__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "limit_of", "page", "search_page"]
