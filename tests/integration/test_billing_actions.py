"""Billing actions on the fake processor, on both databases: each action once per idempotency key (a repeat —
sequential or concurrent — answers the first outcome and calls nothing), inside the caller's transaction or
in their own, refusals stored, outages giving the key back, a span per action, and session URLs nowhere but
in the answer."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from remit import billing
from remit.api.app import create_app
from remit.api.webhooks import close_writer
from remit.billing.action_common import account_customer, link_customer
from remit.billing.actions import ActionInProgress
from remit.db.tables import accounts, billing_actions, provisioning_jobs
from remit.errors import ProcessorError
from remit.processor.fake import CollectingDelivery, FakeEngine, FakeProcessor
from remit.processor.fake.delivery import AsgiDelivery
from remit.runtime import Runtime
from remit.telemetry import ops, spans
from remit.telemetry.logging import quiet_payload_loggers
from tests.support.webhooks import SECRET


class Counting:
    """The runtime's processor, counting the calls made through it (and optionally slowing each down)."""

    def __init__(self, inner: FakeProcessor, delay: float = 0.0) -> None:
        self.inner = inner
        self.name = inner.name
        self.delay = delay
        self.calls: Counter[str] = Counter()

    def __getattr__(self, attr: str) -> Any:
        target = getattr(self.inner, attr)
        if not inspect.iscoroutinefunction(target):
            return target

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[attr] += 1
            if self.delay:
                await asyncio.sleep(self.delay)
            return await target(*args, **kwargs)

        return counted


@pytest.fixture
def fake(rt: Runtime, collected: CollectingDelivery) -> FakeProcessor:
    processor = FakeProcessor(FakeEngine(rt.db, rt.clock, delivery=collected, secret=SECRET))
    rt.processor = processor
    return processor


async def _customer_with_card(rt: Runtime, key: str) -> str:
    made = await billing.create_customer(rt, idempotency_key=key, payment_method="pm_card_visa")
    assert made.id is not None
    return made.id


async def _rows(rt: Runtime, table: sa.Table) -> list[dict[str, Any]]:
    async with rt.db.connect() as conn:
        return [dict(row) for row in (await conn.execute(sa.select(table))).mappings()]


async def test_every_action_runs_once_per_key_and_a_repeat_calls_nothing(rt: Runtime, fake: FakeProcessor) -> None:
    counting = Counting(fake)
    rt.processor = counting  # type: ignore[assignment]

    async def twice(action: Any, *args: Any, **kwargs: Any) -> billing.ActionResult:
        first = await action(rt, *args, **kwargs)
        before = sum(counting.calls.values())
        again = await action(rt, *args, **kwargs)
        assert sum(counting.calls.values()) == before, action.__name__  # no processor call at all
        assert (first.replayed, again.replayed) == (False, True)
        assert again.object == first.object
        return first

    customer = await twice(
        billing.create_customer,
        idempotency_key="k-customer",
        email="ada@example.com",
        payment_method="pm_card_visa",
        account_id="acct_1",
    )
    assert customer.object["metadata"] == {"remit_account_id": "acct_1"}
    updated = await twice(billing.update_customer, customer.id, idempotency_key="k-update", name="Ada")
    assert updated.object["name"] == "Ada"
    checkout = await twice(
        billing.create_checkout_session,
        account_id="acct_1",
        package="starter",
        idempotency_key="k-checkout",
        success_url="https://app.example.com/welcome",
        cancel_url="https://app.example.com/pricing",
    )
    assert checkout.object["metadata"] == {"remit_account_id": "acct_1", "remit_package": "starter"}
    assert checkout.object["customer"] == customer.id  # the account's customer
    assert checkout.object["client_reference_id"] == "acct_1"
    assert str(checkout.url).startswith("https://")
    portal = await twice(
        billing.create_portal_session, idempotency_key="k-portal", account_id="acct_1", return_url="https://a.example"
    )
    assert portal.object["customer"] == customer.id
    subscription = await twice(
        billing.subscribe, customer=customer.id, package="starter", idempotency_key="k-sub", account_id="acct_1"
    )
    assert subscription.object["status"] == "active"
    assert subscription.object["metadata"] == {"remit_account_id": "acct_1", "remit_package": "starter"}
    changed = await twice(
        billing.change_plan, subscription.id, idempotency_key="k-plan", package="pro", proration_behavior="none"
    )
    pro_price = changed.object["items"]["data"][0]["price"]["id"]
    assert pro_price != subscription.object["items"]["data"][0]["price"]["id"]
    assert changed.object["metadata"]["remit_package"] == "pro"
    ending = await twice(billing.cancel_subscription, subscription.id, idempotency_key="k-end", at_period_end=True)
    assert ending.object["cancel_at_period_end"] is True
    resumed = await twice(billing.resume_subscription, subscription.id, idempotency_key="k-resume")
    assert resumed.object["cancel_at_period_end"] is False
    canceled = await twice(billing.cancel_subscription, subscription.id, idempotency_key="k-cancel")
    assert canceled.object["status"] == "canceled"

    rows = await _rows(rt, billing_actions)
    assert sorted(r["idempotency_key"] for r in rows) == sorted(
        ["k-customer", "k-update", "k-checkout", "k-portal", "k-sub", "k-plan", "k-end", "k-resume", "k-cancel"]
    )
    assert {r["status"] for r in rows} == {"succeeded"}
    assert {r["processor"] for r in rows} == {"fake"}
    assert all(r["customer_id"] == customer.id for r in rows)
    [account] = await _rows(rt, accounts)
    assert (account["id"], account["status"], account["customer_id"]) == ("acct_1", "pending", customer.id)


async def test_the_processor_gets_the_same_idempotency_key(rt: Runtime, fake: FakeProcessor) -> None:
    made = await billing.create_customer(rt, idempotency_key="passed-on", email="k@example.com")
    # the fake answers a call with that key from its own store: the same customer, nothing new emitted
    again = await fake.create_customer(idempotency_key="passed-on", email="k@example.com")
    assert again["id"] == made.id


async def test_a_checkout_makes_the_pending_account_and_an_unknown_package_is_refused_before_anything(
    rt: Runtime, fake: FakeProcessor
) -> None:
    counting = Counting(fake)
    rt.processor = counting  # type: ignore[assignment]
    with pytest.raises(billing.InvalidActionRequest) as unknown:
        await billing.create_checkout_session(
            rt, account_id="acct_x", package="enterprise", idempotency_key="k1", success_url="https://a.example"
        )
    assert (unknown.value.param, unknown.value.code) == ("package", "package_unknown")
    assert "'enterprise'" in str(unknown.value)
    assert "pro" in str(unknown.value)
    assert not counting.calls
    assert await _rows(rt, billing_actions) == []
    assert await _rows(rt, accounts) == []
    with pytest.raises(billing.InvalidActionRequest) as bad_url:
        await billing.create_checkout_session(
            rt, account_id="acct_x", package="pro", idempotency_key="k1", success_url="javascript:alert(1)"
        )
    assert bad_url.value.param == "success_url"
    done = await billing.create_checkout_session(
        rt, account_id="acct_x", package="pro", idempotency_key="k1", success_url="https://a.example"
    )
    assert (done.object["mode"], done.object["customer"]) == ("subscription", None)
    [account] = await _rows(rt, accounts)
    assert (account["id"], account["status"], account["package_slug"], account["tokens_quota"]) == (
        "acct_x",
        "pending",
        "pro",
        1_100_000,
    )


async def test_a_key_reused_for_another_request_is_refused(rt: Runtime, fake: FakeProcessor) -> None:
    await billing.create_customer(rt, idempotency_key="once", email="a@example.com")
    with pytest.raises(billing.IdempotencyKeyReused) as reused:
        await billing.create_customer(rt, idempotency_key="once", email="b@example.com")
    assert reused.value.param == "idempotency_key"
    with pytest.raises(billing.IdempotencyKeyReused):
        await billing.cancel_subscription(rt, "sub_1", idempotency_key="once")


async def test_concurrent_repeats_make_one_processor_call_and_converge(rt: Runtime, fake: FakeProcessor) -> None:
    counting = Counting(fake, delay=0.3)
    rt.processor = counting  # type: ignore[assignment]
    results = await asyncio.gather(
        *(
            billing.create_checkout_session(
                rt, account_id="acct_c", package="starter", idempotency_key="same", success_url="https://a.example"
            )
            for _ in range(10)
        )
    )
    assert counting.calls["create_checkout_session"] == 1
    assert len({r.id for r in results}) == 1
    assert sorted(r.replayed for r in results) == [False] + [True] * 9
    assert len(await _rows(rt, billing_actions)) == 1


async def test_a_repeat_gives_up_waiting_with_in_progress(
    rt: Runtime, fake: FakeProcessor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("remit.billing.action_runner.WAIT_S", 0.2)
    rt.processor = Counting(fake, delay=1.0)  # type: ignore[assignment]
    first = asyncio.create_task(billing.create_customer(rt, idempotency_key="slow", email="s@example.com"))
    await asyncio.sleep(0.3)
    with pytest.raises(ActionInProgress) as busy:
        await billing.create_customer(rt, idempotency_key="slow", email="s@example.com")
    assert (busy.value.status, busy.value.code) == (409, "idempotency_key_in_use")
    assert not (await first).replayed
    assert (await billing.create_customer(rt, idempotency_key="slow", email="s@example.com")).replayed


async def test_a_claim_left_by_a_dead_caller_is_taken_over_after_the_lease(rt: Runtime, fake: FakeProcessor) -> None:
    first = await billing.create_customer(rt, idempotency_key="crash", email="c@example.com")
    # as if the caller died after the processor answered and before recording it: the row stays running
    async with rt.db.begin() as conn:
        await conn.execute(
            sa.update(billing_actions).values(status="running", result=sa.null(), claimed_at=rt.clock.now())
        )
    counting = Counting(fake)
    rt.processor = counting  # type: ignore[assignment]
    with pytest.raises(ActionInProgress):  # within the lease: the first caller may still record it
        await billing.create_customer(rt, idempotency_key="crash", email="c@example.com")
    rt.clock.advance(timedelta(seconds=121))  # type: ignore[attr-defined]
    again = await billing.create_customer(rt, idempotency_key="crash", email="c@example.com")
    assert again.id == first.id  # the processor answered its first result to the same key
    assert counting.calls["create_customer"] == 1
    [row] = await _rows(rt, billing_actions)
    assert (row["status"], row["attempts"]) == ("succeeded", 2)


async def test_a_refusal_is_the_keys_outcome_and_an_outage_gives_the_key_back(rt: Runtime, fake: FakeProcessor) -> None:
    counting = Counting(fake)
    rt.processor = counting  # type: ignore[assignment]
    with pytest.raises(billing.ActionRefused) as refused:
        await billing.subscribe(rt, customer="cus_missing", price="price_missing", idempotency_key="nope")
    assert (refused.value.status, refused.value.code) == (404, "resource_missing")
    with pytest.raises(billing.ActionRefused):
        await billing.subscribe(rt, customer="cus_missing", price="price_missing", idempotency_key="nope")
    assert counting.calls["create_subscription"] == 1
    [row] = await _rows(rt, billing_actions)
    assert (row["status"], row["error"]["code"]) == ("failed", "resource_missing")

    await fake.engine.fail_next("500")
    with pytest.raises(ProcessorError) as down:
        await billing.create_customer(rt, idempotency_key="retry-me", email="r@example.com")
    assert down.value.status_code == 500
    assert [r["idempotency_key"] for r in await _rows(rt, billing_actions)] == ["nope"]  # the key was given back
    done = await billing.create_customer(rt, idempotency_key="retry-me", email="r@example.com")
    assert not done.replayed


async def test_inside_the_callers_transaction_rows_and_events_follow_its_commit(
    rt: Runtime, fake: FakeProcessor, collected: CollectingDelivery
) -> None:
    async with rt.db.begin() as conn:
        made = await billing.create_customer(conn, idempotency_key="tx-1", account_id="acct_tx")
        session = await billing.create_checkout_session(
            conn, account_id="acct_tx", package="pro", idempotency_key="tx-2", success_url="https://a.example"
        )
        assert session.object["customer"] == made.id  # the account's customer, written in this transaction
        assert collected.types == []  # nothing delivered before the commit
    await fake.engine.settle()
    # in call order: the customer, then the demo package's product and price the checkout made
    assert collected.types == ["customer.created", "product.created", "price.created", "plan.created"]
    assert {r["idempotency_key"] for r in await _rows(rt, billing_actions)} == {"tx-1", "tx-2"}
    [account] = await _rows(rt, accounts)
    assert (account["customer_id"], account["package_slug"]) == (made.id, "pro")

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon):
        async with rt.db.begin() as conn:
            lost = await billing.create_customer(conn, idempotency_key="tx-3", account_id="acct_gone")
            raise Abandon
    await fake.engine.settle()
    assert collected.types.count("customer.created") == 1  # the rolled-back customer's event was never sent
    assert {r["idempotency_key"] for r in await _rows(rt, billing_actions)} == {"tx-1", "tx-2"}
    assert [a["id"] for a in await _rows(rt, accounts)] == ["acct_tx"]
    with pytest.raises(ProcessorError):
        await fake.retrieve_customer(str(lost.id))  # the fake joined the transaction: its customer is gone too
    again = await billing.create_customer(rt, idempotency_key="tx-3", account_id="acct_gone")
    assert not again.replayed


async def test_concurrent_repeats_in_callers_transactions_converge(rt: Runtime, fake: FakeProcessor) -> None:
    """Each caller in a transaction of its own: on PostgreSQL the second claim waits on the unique index until
    the first transaction commits, on SQLite the second transaction waits for the write lock; either way it
    then finds the outcome and calls nothing."""
    counting = Counting(fake, delay=0.2)
    rt.processor = counting  # type: ignore[assignment]

    async def in_transaction() -> billing.ActionResult:
        async with rt.db.begin() as conn:
            return await billing.create_customer(conn, idempotency_key="tx-same", account_id="acct_same")

    results = await asyncio.gather(*(in_transaction() for _ in range(4)))
    await fake.engine.settle()
    assert counting.calls["create_customer"] == 1
    assert len({r.id for r in results}) == 1
    assert sorted(r.replayed for r in results) == [False, True, True, True]


async def test_a_connection_outside_a_transaction_runs_the_action_in_its_own(rt: Runtime, fake: FakeProcessor) -> None:
    async with rt.db.connect() as conn:
        made = await billing.create_customer(conn, idempotency_key="own-1", account_id="acct_own")
        assert not conn.in_transaction()  # the action committed its own transactions
    assert [r["idempotency_key"] for r in await _rows(rt, billing_actions)] == ["own-1"]
    [account] = await _rows(rt, accounts)
    assert account["customer_id"] == made.id


async def test_a_paid_checkout_of_the_action_is_handed_to_provisioning(rt: Runtime) -> None:
    app = create_app(rt)
    fake = FakeProcessor(FakeEngine(rt.db, rt.clock, delivery=AsgiDelivery(app), secret=SECRET))
    rt.processor = fake
    try:
        session = await billing.create_checkout_session(
            rt, account_id="acct_paid", package="starter", idempotency_key="paid", success_url="https://a.example"
        )
        await fake.complete_checkout_session(str(session.id), payment_method="pm_card_visa", idempotency_key="pay")
        await rt.drain(["remit_webhooks"])
        [job] = await _rows(rt, provisioning_jobs)
        assert (job["stripe_session_id"], job["account_id"], job["origin"]) == (session.id, "acct_paid", "remit")
        assert job["trigger_payload"]["package_slug"] == "starter"
        assert job["trigger_payload"]["tokens_quota"] == 100_000
    finally:
        await close_writer(app)


async def test_each_action_is_a_span_and_urls_reach_no_log_span_ops_event_or_error(
    rt: Runtime, fake: FakeProcessor, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[spans.SpanEvent] = []
    said: list[tuple[str, dict[str, Any]]] = []
    detach = spans.attach(seen.append)
    remove = ops.add_sink(lambda name, meta: said.append((name, meta)))
    caplog.set_level(logging.DEBUG)
    quiet_payload_loggers()  # as remit's logging holds them: drivers' DEBUG lines quote every SQL parameter
    errors: list[str] = []
    try:
        customer = await _customer_with_card(rt, "span-customer")
        checkout = await billing.create_checkout_session(
            rt, account_id="acct_s", package="pro", idempotency_key="span-co", success_url="https://a.example/ok"
        )
        portal = await billing.create_portal_session(
            rt, customer=customer, idempotency_key="span-portal", return_url="https://a.example/back"
        )
        again = await billing.create_portal_session(
            rt, customer=customer, idempotency_key="span-portal", return_url="https://a.example/back"
        )
        try:
            await billing.subscribe(rt, customer="cus_missing", price="price_x", idempotency_key="span-refused")
        except billing.ActionRefused as exc:
            errors.append(str(exc))
        try:
            await billing.create_portal_session(
                rt, customer=customer, idempotency_key="span-portal", return_url="https://a.example/other"
            )
        except billing.IdempotencyKeyReused as exc:
            errors.append(str(exc))
    finally:
        detach()
        remove()
    secrets = [checkout.url, portal.url, again.url]
    assert all(secrets)
    assert portal.url == again.url
    assert len(errors) == 2
    text = "\n".join(
        [
            caplog.text,
            *(json.dumps(r.__dict__, default=str) for r in caplog.records),
            *(json.dumps([e.name, e.phase, e.metadata, e.measurements]) for e in seen),
            json.dumps(said),
            *errors,
            repr(checkout),
            repr(portal),
        ]
    )
    for secret in secrets:
        assert str(secret) not in text

    phases = [(e.metadata["action"], e.phase) for e in seen]
    assert phases[:2] == [("create_customer", "start"), ("create_customer", "stop")]
    assert ("subscribe", "exception") in phases
    stops = [e for e in seen if e.phase == "stop"]
    assert all(e.name == "billing.action" and e.measurements["duration"] >= 0 for e in stops)
    assert all(e.metadata["processor"] == "fake" for e in seen)
    portal_stops = [e.metadata for e in stops if e.metadata["action"] == "create_portal_session"]
    assert [m["replayed"] for m in portal_stops] == [False, True]
    assert all(m["customer_id"] == customer and m["operation_id"] == "span-portal" for m in portal_stops)
    co_stop = next(e.metadata for e in stops if e.metadata["action"] == "create_checkout_session")
    assert (co_stop["account_id"], co_stop["object_id"], co_stop["outcome"]) == ("acct_s", checkout.id, "created")
    failed = next(e for e in seen if e.phase == "exception" and e.metadata["action"] == "subscribe")
    assert (failed.metadata["error_type"], failed.metadata["code"]) == ("ActionRefused", "resource_missing")
    assert failed.measurements["duration"] >= 0


async def test_the_accounts_customer_is_read_without_queueing_behind_a_writer(rt: Runtime) -> None:
    """Outside a caller's transaction the account's customer is read in a read-only transaction: on SQLite it
    takes no write lock (a plain connection would begin ``IMMEDIATE``), so it neither waits for another
    transaction's writes nor sees them before they commit."""
    if not rt.db.is_sqlite:
        pytest.skip("a PostgreSQL read never waits for a writer")
    async with rt.db.begin() as conn:
        await link_customer(conn, "acct_read", "cus_committed", rt.clock.now())
    written, read = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with rt.db.begin() as tx:
            await tx.execute(
                sa.update(accounts).where(accounts.c.id == "acct_read").values(customer_id="cus_uncommitted")
            )
            written.set()
            await asyncio.wait_for(read.wait(), 5)  # times out if the read queues behind this write lock

    task = asyncio.create_task(writer())
    await written.wait()
    found = await account_customer(rt, None, "acct_read")
    read.set()
    await task
    assert found == "cus_committed"
