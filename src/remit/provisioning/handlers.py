"""The provisioning part's handler: a paid checkout becomes exactly one provisioning job and its trigger.

It runs after the mirror, in the handler's transaction, so the job row, its account and its trigger job commit
together with dispatch's record that this handler is done: a crash between them cannot happen, and a
replayed, duplicated or out-of-order event (``async_payment_succeeded`` before ``completed``) finds the row
unique on the session id and records nothing new.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.billing.packages import Package, package_for_price, packages_for
from remit.db.tables import subscription_items
from remit.handlers import EventHandler
from remit.provisioning import jobs_table
from remit.provisioning.handoff import PAID_EVENT_TYPES, decide, is_paid, wanted_slug
from remit.provisioning.jobs import trigger_provisioning
from remit.webhooks.handlers import HandlerContext

PROVISIONING_HANDLER_NAME = "remit.provisioning"


def _line_item_prices(session: Mapping[str, Any]) -> list[str]:
    items = session.get("line_items")
    data = items.get("data") if isinstance(items, Mapping) else None
    prices: list[str] = []
    for item in data if isinstance(data, list) else []:
        price = item.get("price") if isinstance(item, Mapping) else None
        price_id = price.get("id") if isinstance(price, Mapping) else price
        if isinstance(price_id, str):
            prices.append(price_id)
    return prices


async def _prices(conn: AsyncConnection, session: Mapping[str, Any]) -> list[str]:
    """The prices a checkout made outside remit sold: its expanded line items, else its subscription's items
    in the mirror."""
    prices = _line_item_prices(session)
    subscription = session.get("subscription")
    if not prices and isinstance(subscription, str):
        stmt = sa.select(subscription_items.c.price_id).where(subscription_items.c.subscription_id == subscription)
        prices = [p for p in (await conn.execute(stmt)).scalars() if p]
    return prices


async def resolve_package(
    conn: AsyncConnection, session: Mapping[str, Any], packages: Mapping[str, Package]
) -> Package | None:
    slug = wanted_slug(session)
    if slug is not None:
        return packages.get(slug)
    found = {p.slug: p for price in await _prices(conn, session) if (p := package_for_price(packages, price))}
    return next(iter(found.values())) if len(found) == 1 else None


async def provision_paid_checkout(ctx: HandlerContext) -> None:
    """Record the provisioning job a paid checkout owes, and enqueue its trigger (see the module docs)."""
    session = ctx.data_object
    if not is_paid(ctx.type, session) or not isinstance(session.get("id"), str):
        return
    package = await resolve_package(ctx.conn, session, packages_for(ctx.runtime.settings))
    handoff = decide(session, package, slug_asked=wanted_slug(session))
    job = await jobs_table.record_handoff(ctx.conn, handoff, ctx.runtime.clock.now())
    if job is not None and job.trigger_payload is not None:
        await ctx.runtime.engine.enqueue(ctx.conn, trigger_provisioning, {"job_id": job.id})


PROVISIONING_HANDLER = EventHandler(PROVISIONING_HANDLER_NAME, PAID_EVENT_TYPES, provision_paid_checkout)

__all__ = ["PROVISIONING_HANDLER", "PROVISIONING_HANDLER_NAME", "provision_paid_checkout", "resolve_package"]
