"""What the passing of time does to the fake's world, run whenever its clock moves.

Like a Stripe test clock: subscriptions whose period ended renew (a new invoice, charged), end (cancel at
period end), leave their trial (start paying, or pause without a payment method), send the trial-ending notice
three days ahead; failed renewal invoices are retried on schedule; incomplete subscriptions expire after 23
hours; open checkout sessions expire after 24.
"""

from __future__ import annotations

import copy

from remit.processor.fake.ops import checkout, invoices, subscriptions
from remit.processor.fake.tx import Tx

#: Periods one advance may bill for one subscription (a year of months), so a huge jump stays bounded.
MAX_PERIODS_PER_ADVANCE = 12
MAX_RETRIES = 4
INCOMPLETE_EXPIRY = 23 * 3600


async def run_due(tx: Tx) -> None:
    """Apply everything that has come due by ``tx.now``."""
    for found in await tx.list("subscription"):
        await _renew(tx, found.id)
        await subscriptions.notify_trial_ending(tx, found.id)
    await _retry_failed_invoices(tx)
    for session in await tx.list("checkout.session"):
        if session.data["status"] == "open" and session.data["expires_at"] <= tx.now:
            await checkout.expire(tx, session.data)


async def _renew(tx: Tx, sub_id: str) -> None:
    for _ in range(MAX_PERIODS_PER_ADVANCE):
        sub = (await tx.get(sub_id, "subscription")).data
        status = sub["status"]
        if status == "incomplete":
            if sub["created"] + INCOMPLETE_EXPIRY <= tx.now:
                after = dict(sub, status="incomplete_expired", ended_at=tx.now)
                await tx.save(after)
                await tx.emit("customer.subscription.updated", after, before=sub)
            return
        if status not in {"active", "trialing", "past_due", "unpaid"} or sub["current_period_end"] > tx.now:
            return
        if sub["cancel_at_period_end"]:
            await subscriptions.end_subscription(tx, sub)
            return
        if status == "trialing":
            await subscriptions.end_trial(tx, sub_id, billing_reason="subscription_cycle")
            continue
        await subscriptions.start_new_period(
            tx, sub, copy.deepcopy(sub), billing_reason="subscription_cycle", start=int(sub["current_period_end"])
        )


async def _retry_failed_invoices(tx: Tx) -> None:
    for found in await tx.list("invoice"):
        inv = found.data
        due = inv.get("next_payment_attempt")
        if (
            inv["status"] != "open"
            or not due
            or due > tx.now
            or inv["attempt_count"] >= MAX_RETRIES
            or inv["collection_method"] != "charge_automatically"
        ):
            continue
        await invoices.attempt_payment(tx, inv, await invoices.payment_method_for(tx, inv))


__all__ = ["MAX_PERIODS_PER_ADVANCE", "run_due"]
