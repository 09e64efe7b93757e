"""Expiring cards: warn a customer before their default card expires, once per card and threshold.

A card is good through the last day of its expiry month, so it expires at the first instant of the next month
(UTC). :func:`due_threshold` (pure) says which notice is due: the smallest configured threshold
(``REMIT_CARD_EXPIRY_DAYS``, default 30, 7 and 1 days) that the days left are at or under — *at or past*, so a
day the task did not run is caught up by the next run, which sends the most urgent notice reached (not every
one it missed). The card-expiring mail's key (``card_expiring:<pm>:<yyyy-mm>:<threshold>``) is unique in the
mail log, so each notice is owed once however often the task runs; a new card (a new id or expiry) starts over.

:data:`CARD_TASK` runs daily on ``remit_scheduled``, leader only, over the mirror's customers and their default
payment method (``invoice_settings.default_payment_method``), a thousand customers per transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from remit.db.tables import customers, payment_methods
from remit.jobs.context import PeriodicContext
from remit.mail import MailKind, MailRequest, request_mail
from remit.money.failures import ident, integer
from remit.periodic import Counts, Cron, PeriodicTask
from remit.runtime import Runtime
from remit.telemetry import metrics

CARD_TASK_NAME = "money.card_expiry"
BATCH = 1000


def expires_at(exp_month: int, exp_year: int) -> datetime:
    """The first instant the card no longer works: the start of the month after its expiry month."""
    return datetime(exp_year + exp_month // 12, exp_month % 12 + 1, 1, tzinfo=UTC)


def due_threshold(expiry: datetime, now: datetime, thresholds: Sequence[int]) -> int | None:
    """The notice due at ``now`` for a card expiring at ``expiry``: the smallest threshold the days left are at
    or under; None when none is reached yet, or the card has expired."""
    left = (expiry - now).total_seconds() / 86400
    if left <= 0:
        return None
    reached = [days for days in thresholds if left <= days]
    return min(reached) if reached else None


def default_method(customer: Mapping[str, Any]) -> str | None:
    settings = customer.get("invoice_settings")
    chosen = settings.get("default_payment_method") if isinstance(settings, Mapping) else None
    return ident(chosen) or ident(customer.get("default_source"))


async def warn_expiring_cards(runtime: Runtime) -> dict[str, int]:
    """Owe the card-expiring mail for every default card a notice is due for; counts."""
    now, thresholds = runtime.clock.now(), runtime.settings.card_expiry_days
    counts = {"customers": 0, "due": 0, "owed": 0}
    last_id = 0
    while True:
        async with runtime.db.begin() as conn:
            rows = (
                await conn.execute(
                    sa.select(customers.c.id, customers.c.stripe_id, customers.c.data)
                    .where(sa.not_(customers.c.deleted), customers.c.id > last_id)
                    .order_by(customers.c.id)
                    .limit(BATCH)
                )
            ).all()
            if not rows:
                return counts
            last_id = rows[-1].id
            counts["customers"] += len(rows)
            chosen = {pm: row.stripe_id for row in rows if (pm := default_method(dict(row.data or {}))) is not None}
            if not chosen:
                continue
            methods = await conn.execute(
                sa.select(payment_methods.c.stripe_id, payment_methods.c.data).where(
                    payment_methods.c.stripe_id.in_(list(chosen)), sa.not_(payment_methods.c.deleted)
                )
            )
            for method in methods:
                card = (method.data or {}).get("card")
                month = integer(card.get("exp_month")) if isinstance(card, Mapping) else None
                year = integer(card.get("exp_year")) if isinstance(card, Mapping) else None
                if not month or not year or not 1 <= month <= 12:
                    continue
                expiry = expires_at(month, year)
                threshold = due_threshold(expiry, now, thresholds)
                if threshold is None:
                    continue
                counts["due"] += 1
                days = max(1, int((expiry - now).total_seconds() // 86400))
                request = MailRequest(
                    MailKind.CARD_EXPIRING,
                    method.stripe_id,
                    f"{year:04d}-{month:02d}:{threshold}",
                    customer_id=chosen[method.stripe_id],
                    params={"days": days, "threshold": threshold},
                )
                if await request_mail(conn, request) is not None:
                    counts["owed"] += 1
                    metrics.card_expiry_notices_total.labels(days=str(threshold)).inc()


async def card_task(ctx: PeriodicContext[Runtime]) -> Counts:
    return await warn_expiring_cards(ctx.app)


#: Daily at 09:00 UTC, leader only, as a job on ``remit_scheduled``.
CARD_TASK: PeriodicTask[PeriodicContext[Runtime]] = PeriodicTask(
    CARD_TASK_NAME, Cron("0 9 * * *"), card_task, queue="remit_scheduled"
)

__all__ = ["CARD_TASK", "CARD_TASK_NAME", "default_method", "due_threshold", "expires_at", "warn_expiring_cards"]
