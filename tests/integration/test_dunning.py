"""Dunning against the fake processor, on SQLite and PostgreSQL: a renewal fails, the subscription is past due,
the grace runs out, the sweeper asks the processor, and only the processor's webhook ends the case — with
``dunning_exhaustion`` once; a sweep whose request fails is retried by the next sweep."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from remit.money.dunning import get_case, plan_sweep
from remit.money.policy import CaseState, DunningPolicy
from remit.processor.fake import FailureKind
from tests.support.mail import mail_world

Emitted = list[tuple[str, dict[str, Any]]]


async def test_through_grace_to_unpaid_confirmed_by_webhook_with_one_dunning_exhaustion(
    db_url: str, ops_events: Emitted
) -> None:
    async with mail_world(db_url) as world:
        customer, subscription_id = await world.past_due_subscription()
        assert await world.mirrored_status(subscription_id) == "past_due"
        async with world.runtime.db.connect() as conn:
            case = await get_case(conn, subscription_id)
        assert case is not None
        assert case.state is CaseState.IN_GRACE
        assert case.grace_until - case.past_due_since == timedelta(days=14)

        await world.sweep()  # still in grace: nothing asked
        async with world.runtime.db.connect() as conn:
            assert (await get_case(conn, subscription_id)).state is CaseState.IN_GRACE  # type: ignore[union-attr]

        await world.past_grace(subscription_id)
        async with world.runtime.db.connect() as conn:
            planned = await plan_sweep(conn, DunningPolicy(), world.runtime.clock.now())
        assert [(p.subscription_id, p.attempt, p.action.value) for p in planned] == [(subscription_id, 1, "unpaid")]
        await world.sweep()
        await world.sweep()  # a second sweep asks nothing more
        assert await world.mirrored_status(subscription_id) == "unpaid"  # the webhook moved it
        async with world.runtime.db.connect() as conn:
            case = await get_case(conn, subscription_id)
        assert case is not None
        assert (case.state, case.attempts, case.source, case.confirmed_status) == (
            CaseState.EXHAUSTED,
            1,
            "remit_sweeper",
            "unpaid",
        )
        await world.fake.engine.redeliver(include_delivered=True)
        await world.drain()

    exhausted = [meta for name, meta in ops_events if name == "dunning_exhaustion"]
    assert len(exhausted) == 1
    assert {k: exhausted[0][k] for k in ("subscription_id", "customer_id", "status", "source", "attempt")} == {
        "subscription_id": subscription_id,
        "customer_id": customer,
        "status": "unpaid",
        "source": "remit_sweeper",
        "attempt": 1,
    }


async def test_a_failed_request_is_retried_by_the_next_sweep_under_a_new_key(db_url: str, ops_events: Emitted) -> None:
    async with mail_world(db_url, REMIT_DUNNING_TERMINAL="canceled", REMIT_DUNNING_GRACE_DAYS="3") as world:
        _, subscription_id = await world.past_due_subscription()
        world.runtime.clock.advance(timedelta(days=35))  # type: ignore[attr-defined]
        await world.fake.engine.fail_next(FailureKind.SERVER_ERROR)
        await world.sweep()
        async with world.runtime.db.connect() as conn:
            case = await get_case(conn, subscription_id)
        assert case is not None
        assert (case.state, case.attempts, case.last_error) == (CaseState.IN_GRACE, 1, "500 api_error")
        assert await world.mirrored_status(subscription_id) == "past_due"  # nothing marked done

        await world.sweep()
        async with world.runtime.db.connect() as conn:
            case = await get_case(conn, subscription_id)
        assert case is not None
        assert (case.state, case.attempts, case.source) == (CaseState.EXHAUSTED, 2, "remit_sweeper")
        assert await world.mirrored_status(subscription_id) == "canceled"
    assert [meta["attempt"] for name, meta in ops_events if name == "dunning_exhaustion"] == [2]


async def test_a_subscription_paid_in_grace_is_recovered_and_never_swept(db_url: str, ops_events: Emitted) -> None:
    async with mail_world(db_url) as world:
        customer, subscription_id = await world.past_due_subscription()
        visa = await world.fake.attach_payment_method("pm_card_visa", customer=customer, idempotency_key=world.key())
        subscription = await world.fake.retrieve_subscription(subscription_id)
        await world.fake.pay_invoice(
            subscription["latest_invoice"], payment_method=visa["id"], idempotency_key=world.key()
        )
        await world.drain()
        world.runtime.clock.advance(timedelta(days=60))  # type: ignore[attr-defined]
        await world.sweep()
        async with world.runtime.db.connect() as conn:
            case = await get_case(conn, subscription_id)
        assert case is not None
        assert case.state is CaseState.RECOVERED
        assert await world.mirrored_status(subscription_id) == "active"
    assert [name for name, _ in ops_events if name == "dunning_exhaustion"] == []
