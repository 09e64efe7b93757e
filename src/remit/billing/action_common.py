"""What every billing action shares: where it runs (:data:`Target`), the account's customer, the package and
the price it sells at. See :mod:`remit.billing.actions`."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.billing import action_params as params_
from remit.billing.action_runner import InvalidActionRequest
from remit.billing.packages import Package, UnknownPackage, get_package, packages_for
from remit.db.tables import accounts
from remit.processor.base import Processor
from remit.provisioning.jobs_table import ensure_account
from remit.runtime import Runtime, runtime_of

#: Where an action runs: a runtime (its own short transactions), or one of its connections — in an open
#: transaction (the action writes its rows there), or not (the action's own transactions, as with a runtime).
Target = Runtime | AsyncConnection


def resolve(target: Target) -> tuple[Runtime, AsyncConnection | None]:
    """The runtime of ``target`` and the caller's open transaction, if it is one (see :data:`Target`)."""
    if isinstance(target, Runtime):
        return target, None
    return runtime_of(target), (target if target.in_transaction() else None)


async def link_customer(conn: AsyncConnection, account_id: str, customer_id: str, now: datetime) -> None:
    """The account's processor customer, unless it has one already (then it is left as it is)."""
    await ensure_account(conn, account_id, customer_id=customer_id, package_slug=None, tokens_quota=None, now=now)
    await conn.execute(
        sa.update(accounts)
        .where(accounts.c.id == account_id, accounts.c.customer_id.is_(None))
        .values(customer_id=customer_id, updated_at=now)
    )


async def account_customer(runtime: Runtime, conn: AsyncConnection | None, account_id: str) -> str | None:
    """The account's processor customer: read in the caller's open transaction ``conn`` (so a customer linked
    earlier in it counts), else in a read-only transaction of its own (:meth:`~remit.db.engine.Database.read`),
    which on SQLite takes no write lock — a plain connection would begin ``IMMEDIATE`` and queue this one read
    behind every writer (up to the busy timeout) — and sees only what was committed."""
    stmt = sa.select(accounts.c.customer_id).where(accounts.c.id == account_id)
    if conn is not None:
        found = (await conn.execute(stmt)).scalar_one_or_none()
    else:
        async with runtime.db.read() as own:
            found = (await own.execute(stmt)).scalar_one_or_none()
    return found if isinstance(found, str) else None


def package_of(runtime: Runtime, slug: object) -> Package:
    name = params_.text(slug, "package", required=True, limit=64)
    assert name is not None
    try:
        return get_package(packages_for(runtime.settings), name)
    except UnknownPackage as exc:
        raise InvalidActionRequest(str(exc), param="package", code="package_unknown") from None


async def price_of(processor: Processor, package: Package) -> str:
    """The processor price ``package`` sells at: its configured ``price``, else the processor's own for it
    (:meth:`~remit.processor.base.Processor.package_price`: the fake's demo catalogue; none on Stripe, where
    the package is refused and nothing is called)."""
    price = package.price or await processor.package_price(slug=package.slug, name=package.name)
    if not price:
        raise InvalidActionRequest(
            f"package {package.slug!r} has no price: declare one in REMIT_PACKAGES",
            param="package",
            code="package_without_price",
        )
    return price


__all__ = ["Target", "account_customer", "link_customer", "package_of", "price_of", "resolve"]
