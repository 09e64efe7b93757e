"""Fee reconciliation against the fake processor, on SQLite and PostgreSQL: fees read by listing (a call per
hundred), recorded once, drift detected when the processor changes them, a refund's kept fee raised as
revenue loss once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from remit.db.tables import fake_objects, fee_drifts, fees
from remit.money.reconcile import reconcile_fees
from tests.support.mail import MailWorld, mail_world

Emitted = list[tuple[str, dict[str, Any]]]


async def stored_fees(world: MailWorld) -> dict[str, tuple[int, int, int]]:
    async with world.runtime.db.connect() as conn:
        rows = await conn.execute(sa.select(fees.c.subject_id, fees.c.amount, fees.c.fee, fees.c.net))
        return {row.subject_id: (int(row.amount), int(row.fee), int(row.net)) for row in rows}


async def test_a_pass_records_fees_by_listing_then_sees_drift_and_a_kept_refund_fee(
    db_url: str, ops_events: Emitted
) -> None:
    async with mail_world(db_url, REMIT_FEES_CONCURRENCY="1") as world:
        charge_ids = await world.paid_charges(3)
        refund = await world.fake.create_refund(charge=charge_ids[0], amount=1000, idempotency_key=world.key())
        await world.drain()

        young = await reconcile_fees(world.runtime)  # nothing is 24 hours old yet
        assert (young.recorded, young.calls) == (0, 1)

        world.runtime.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
        dry = await reconcile_fees(world.runtime, dry_run=True)
        assert dry.recorded == 4
        assert await stored_fees(world) == {}

        done = await reconcile_fees(world.runtime)
        assert (done.recorded, done.drift, done.calls, done.losses) == (4, 0, 1, 1)
        recorded = await stored_fees(world)
        for charge_id in charge_ids:
            charge = await world.fake.retrieve_charge(charge_id)
            txn = await world.fake.request("GET", f"/v1/balance_transactions/{charge['balance_transaction']}")
            assert recorded[charge_id] == (2500, txn["fee"], txn["net"])
            assert txn["fee"] > 0
        assert recorded[refund["id"]] == (-1000, 0, -1000)

        again = await reconcile_fees(world.runtime)
        assert (again.recorded, again.unchanged, again.drift, again.losses) == (0, 4, 0, 0)

        # The processor corrects one charge's fee after remit stored it.
        txn_id = (await world.fake.retrieve_charge(charge_ids[1]))["balance_transaction"]
        async with world.runtime.db.begin() as conn:
            data = (await conn.execute(sa.select(fake_objects.c.data).where(fake_objects.c.id == txn_id))).scalar_one()
            data = dict(data, fee=data["fee"] + 7, net=data["net"] - 7)
            await conn.execute(sa.update(fake_objects).where(fake_objects.c.id == txn_id).values(data=data))
        drifted = await reconcile_fees(world.runtime)
        assert (drifted.drift, drifted.unchanged) == (1, 3)
        async with world.runtime.db.connect() as conn:
            drift = (await conn.execute(sa.select(fee_drifts))).mappings().one()
        assert drift["subject_id"] == charge_ids[1]
        assert drift["new_fee"] - drift["old_fee"] == 7
        assert (await stored_fees(world))[charge_ids[1]][1] == data["fee"]

    losses = [meta for name, meta in ops_events if name == "revenue_loss"]
    fee = recorded[charge_ids[0]][1]
    assert losses == [
        {
            "reason": "refund_fee_not_returned",
            "object_type": "refund",
            "object_id": refund["id"],
            "charge_id": charge_ids[0],
            "amount": fee * 1000 // 2500,
            "fee": fee * 1000 // 2500,
            "currency": "usd",
        }
    ]


async def test_a_pass_over_more_than_a_page_makes_one_call_per_hundred(db_url: str) -> None:
    async with mail_world(db_url, REMIT_FEES_CONCURRENCY="1") as world:
        await world.paid_charges(3)
        world.runtime.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
        import remit.money.reconcile as reconcile

        original = reconcile.PAGE_SIZE
        reconcile.PAGE_SIZE = 2  # three charges: two pages
        try:
            done = await reconcile_fees(world.runtime)
        finally:
            reconcile.PAGE_SIZE = original
        assert (done.recorded, done.calls) == (3, 2)


async def test_slices_listed_side_by_side_record_the_same_fees(db_url: str) -> None:
    async with mail_world(db_url, REMIT_FEES_CONCURRENCY="4") as world:
        charge_ids = await world.paid_charges(3)
        world.runtime.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
        done = await reconcile_fees(world.runtime, since=world.runtime.clock.now() - timedelta(days=5))
        assert done.recorded == 3
        assert done.calls == 4  # one per slice: the listing's pages, at most one more per slice
        assert set(await stored_fees(world)) == set(charge_ids)


async def test_a_refund_beyond_the_net_is_a_loss_only_when_its_fee_was_not_returned(
    db_url: str, ops_events: Emitted
) -> None:
    async with mail_world(db_url, REMIT_FEES_CONCURRENCY="1") as world:
        kept, returned = await world.paid_charges(2)
        refunds = {}
        for charge_id in (kept, returned):  # refunded in full
            refunds[charge_id] = await world.fake.create_refund(charge=charge_id, idempotency_key=world.key())
        await world.drain()
        # The processor returned the second charge's fee with its refund: the business is out nothing.
        charge_txn = (await world.fake.retrieve_charge(returned))["balance_transaction"]
        refund_txn = refunds[returned]["balance_transaction"]
        async with world.runtime.db.begin() as conn:
            fee = (
                await conn.execute(sa.select(fake_objects.c.data).where(fake_objects.c.id == charge_txn))
            ).scalar_one()["fee"]
            data = (
                await conn.execute(sa.select(fake_objects.c.data).where(fake_objects.c.id == refund_txn))
            ).scalar_one()
            data = dict(data, fee=-fee, net=data["amount"] + fee)
            await conn.execute(sa.update(fake_objects).where(fake_objects.c.id == refund_txn).values(data=data))

        world.runtime.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
        done = await reconcile_fees(world.runtime)
        assert done.recorded == 4
        recorded = await stored_fees(world)

    losses = sorted(
        (meta["reason"], meta["charge_id"], meta["amount"]) for name, meta in ops_events if name == "revenue_loss"
    )
    kept_fee = recorded[kept][1]
    assert losses == [("refund_exceeds_net", kept, kept_fee), ("refund_fee_not_returned", kept, kept_fee)]
