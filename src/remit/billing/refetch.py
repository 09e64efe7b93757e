"""Completing truncated child lists from the processor.

Stripe embeds at most a page of an invoice's lines (and of a subscription's items) in the object; when there
are more, the embedded list says ``has_more: true``. The parent's own fields are still right, so the parent is
projected from the payload either way; only the children need the processor. When the runtime's processor
can list them (``list_invoice_lines`` / ``list_subscription_items``, Stripe's ``GET /v1/invoices/{id}/lines``
and ``GET /v1/subscription_items?subscription=``), every page is fetched before anything is written, so no
row is locked during the calls (on SQLite the dispatch transaction's ``BEGIN IMMEDIATE`` already holds the
database's write lock: see docs/mirror.md). Without such a processor, or when the call fails, the payload's
partial list is projected and children missing from it are left as they were (never marked removed).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from remit.billing.fields import list_data
from remit.billing.kinds import ChildSpec, ObjectKind, Source
from remit.errors import ProcessorError

log = logging.getLogger("remit.billing.refetch")

#: The processor method that lists each child field, called as ``method(parent_id, limit=…, starting_after=…)``.
LISTERS: dict[str, str] = {"lines": "list_invoice_lines", "items": "list_subscription_items"}
PAGE_SIZE = 100
#: A bound on pages per list, so a processor that never says ``has_more: false`` cannot loop forever.
MAX_PAGES = 100

Children = dict[str, tuple[list[Mapping[str, Any]], bool]]


def embedded_children(kind: ObjectKind, obj: Mapping[str, Any]) -> Children:
    """Each child field's objects as embedded in ``obj`` and whether that list is complete."""
    found: Children = {}
    for child in kind.children:
        listed = list_data(obj.get(child.field))
        if listed is not None:
            found[child.field] = listed
    return found


async def _list_all(method: Any, parent_id: str) -> list[Mapping[str, Any]] | None:
    items: list[Mapping[str, Any]] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = list_data(await method(parent_id, limit=PAGE_SIZE, starting_after=cursor))
        if page is None:
            return None
        items.extend(page[0])
        if page[1]:
            return items
        last = page[0][-1].get("id") if page[0] else None
        if not isinstance(last, str) or not last:
            return None  # "has more" with nothing to continue from: the list cannot be known to be complete
        cursor = last
    return None


async def complete_children(processor: Any, kind: ObjectKind, stripe_id: str, obj: Mapping[str, Any]) -> Children:
    """The child lists of ``obj``, each completed from ``processor`` when it was truncated and can be."""
    children = embedded_children(kind, obj)
    if kind.source is not Source.PAYLOAD_UNLESS_TRUNCATED or processor is None:
        return children
    for child in kind.children:
        current = children.get(child.field)
        if current is None or current[1]:
            continue
        method = getattr(processor, LISTERS.get(child.field, ""), None)
        if not callable(method):
            continue
        fetched = await _fetch(method, kind, child, stripe_id)
        if fetched is not None:
            children[child.field] = (fetched, True)
    return children


async def _fetch(method: Any, kind: ObjectKind, child: ChildSpec, stripe_id: str) -> list[Mapping[str, Any]] | None:
    try:
        return await _list_all(method, stripe_id)
    except ProcessorError as exc:
        log.warning(
            "could not complete a truncated child list; projecting the payload's part",
            extra={
                "object_type": kind.name,
                "object_id": stripe_id,
                "field": child.field,
                "status_code": exc.status_code,
            },
        )
        return None


__all__ = ["LISTERS", "Children", "complete_children", "embedded_children"]
