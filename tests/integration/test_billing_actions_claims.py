"""The claim on an idempotency key under the races and gaps the happy path never meets, on both databases: a
caller whose claim another took over (its processor call outlived the lease) answers instead of crashing; the
processor's 409 "another request with this key is in flight" is not the key's outcome; a claim older than the
processor keeps keys is not taken over (that could act twice) but marked ``outcome_unknown``; a waiting repeat
polls with reads, not with INSERTs."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from remit import billing
from remit.billing import action_store
from remit.billing.actions import ActionInProgress
from remit.db.tables import billing_actions
from remit.errors import ProcessorError
from remit.processor.fake import CollectingDelivery, FakeEngine, FakeProcessor
from remit.runtime import Runtime
from tests.support.webhooks import SECRET

LEASE = timedelta(seconds=121)


class Wrapped:
    """The runtime's processor with its coroutine methods passed through :meth:`around` (the rest as is)."""

    def __init__(self, inner: FakeProcessor) -> None:
        self.inner = inner
        self.name = inner.name

    async def around(self, attr: str, call: Any) -> Any:
        return await call()

    def __getattr__(self, attr: str) -> Any:
        target = getattr(self.inner, attr)
        if not inspect.iscoroutinefunction(target):
            return target

        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            return await self.around(attr, lambda: target(*args, **kwargs))

        return wrapped


class Gated(Wrapped):
    """Each ``create_customer`` call waits for its own gate (``gates[i]`` for the i-th) before it reaches the
    fake."""

    def __init__(self, inner: FakeProcessor) -> None:
        super().__init__(inner)
        self.gates: list[asyncio.Event] = []

    async def around(self, attr: str, call: Any) -> Any:
        if attr != "create_customer":
            return await call()
        gate = asyncio.Event()
        self.gates.append(gate)
        await gate.wait()
        return await call()

    async def reached(self, count: int) -> None:
        while len(self.gates) < count:
            await asyncio.sleep(0.01)


class Answering(Wrapped):
    """The first calls answer the given processor errors (as Stripe's would arrive), then the fake answers."""

    def __init__(self, inner: FakeProcessor, *errors: ProcessorError) -> None:
        super().__init__(inner)
        self.errors = list(errors)
        self.calls = 0

    async def around(self, attr: str, call: Any) -> Any:
        if attr != "create_customer":
            return await call()
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return await call()


@pytest.fixture
def fake(rt: Runtime, collected: CollectingDelivery) -> FakeProcessor:
    processor = FakeProcessor(FakeEngine(rt.db, rt.clock, delivery=collected, secret=SECRET))
    rt.processor = processor
    return processor


async def _rows(rt: Runtime) -> list[dict[str, Any]]:
    async with rt.db.connect() as conn:
        return [dict(row) for row in (await conn.execute(sa.select(billing_actions))).mappings()]


def _create(rt: Runtime, key: str = "k") -> Any:
    return billing.create_customer(rt, idempotency_key=key, email="a@example.com", account_id="acct_1")


async def _taken_over(rt: Runtime, fake: FakeProcessor) -> tuple[Gated, asyncio.Task[Any], asyncio.Task[Any]]:
    """Two callers with one key, both held at the processor: the first claimed it, the second took it over
    once the first's call outlived the lease."""
    gated = Gated(fake)
    rt.processor = gated  # type: ignore[assignment]
    first = asyncio.create_task(_create(rt))
    await gated.reached(1)
    rt.clock.advance(LEASE)  # type: ignore[attr-defined]
    second = asyncio.create_task(_create(rt))
    await gated.reached(2)
    return gated, first, second


async def test_a_caller_whose_claim_was_taken_over_answers_the_processors_object(
    rt: Runtime, fake: FakeProcessor
) -> None:
    gated, first, second = await _taken_over(rt, fake)
    gated.gates[0].set()  # the first caller's call returns while the second still holds the claim
    answered = await first
    assert not answered.replayed
    gated.gates[1].set()
    taken = await second
    assert taken.id == answered.id  # one customer: the processor answered the key's first result
    [row] = await _rows(rt)
    assert (row["status"], row["attempts"], row["object_id"]) == ("succeeded", 2, answered.id)
    assert (await _create(rt)).replayed


async def test_a_caller_whose_claim_was_taken_over_and_given_back_answers_the_processors_object(
    rt: Runtime, fake: FakeProcessor
) -> None:
    gated, first, second = await _taken_over(rt, fake)
    await fake.engine.fail_next("500")
    gated.gates[1].set()
    with pytest.raises(ProcessorError):
        await second  # the outage gives the key back: no row
    assert await _rows(rt) == []
    gated.gates[0].set()
    answered = await first
    assert answered.id is not None
    assert not answered.replayed


@pytest.mark.parametrize(
    ("status", "code"), [(409, "idempotency_key_in_use"), (429, "lock_timeout")], ids=["in_use", "lock_timeout"]
)
async def test_the_processor_busy_with_the_key_is_in_progress_not_a_refusal(
    rt: Runtime, fake: FakeProcessor, status: int, code: str
) -> None:
    busy = ProcessorError("another request with this key is in flight", status_code=status, code=code)
    answering = Answering(fake, busy)
    rt.processor = answering  # type: ignore[assignment]
    with pytest.raises(ActionInProgress) as in_progress:
        await _create(rt)
    assert (in_progress.value.status, in_progress.value.code) == (409, "idempotency_key_in_use")
    assert await _rows(rt) == []  # the key was given back
    done = await _create(rt)
    assert (done.replayed, answering.calls) == (False, 2)
    [row] = await _rows(rt)
    assert row["status"] == "succeeded"


async def test_a_claim_older_than_the_processor_keeps_keys_is_not_taken_over(
    rt: Runtime, fake: FakeProcessor, ops_events: list[tuple[str, dict[str, Any]]]
) -> None:
    await _create(rt, "old")
    async with rt.db.begin() as conn:  # as if the caller died after the processor answered: the row stays running
        await conn.execute(sa.update(billing_actions).values(status="running", result=sa.null()))
    answering = Answering(fake)
    rt.processor = answering  # type: ignore[assignment]
    rt.clock.advance(timedelta(hours=23, minutes=1))  # type: ignore[attr-defined]
    for _ in range(2):  # marked once, then the key's outcome
        with pytest.raises(billing.ActionRefused) as unknown:
            await _create(rt, "old")
        assert (unknown.value.code, unknown.value.status, unknown.value.param) == (
            "outcome_unknown",
            409,
            "idempotency_key",
        )
    assert answering.calls == 0  # the processor may have forgotten the key: it was not asked again
    [row] = await _rows(rt)
    assert (row["status"], row["error"]["code"]) == ("failed", "outcome_unknown")
    [meta] = [m for name, m in ops_events if name == "billing_action_outcome_unknown"]  # once per key
    assert meta == {
        "attempt": 1,
        "action": "create_customer",
        "operation_id": "old",
        "account_id": "acct_1",
        "customer_id": row["customer_id"],
        "processor": "fake",
        "code": "outcome_unknown",
    }


@pytest.fixture
def written(rt: Runtime) -> Iterator[list[str]]:
    """Each INSERT into remit_billing_actions, and each transaction begun, on the runtime's (writing) engine
    while the test runs (``"begin"``; on SQLite each one takes the write lock)."""
    seen: list[str] = []

    def statement(conn: Any, cursor: Any, text: str, *args: Any) -> None:
        if text.lstrip().upper().startswith("INSERT INTO REMIT_BILLING_ACTIONS"):
            seen.append("insert")

    def begin(conn: Any) -> None:
        seen.append("begin")

    engine = rt.db.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", statement)
    sa.event.listen(engine, "begin", begin)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", statement)
    sa.event.remove(engine, "begin", begin)


async def test_a_waiting_repeat_polls_with_reads(rt: Runtime, fake: FakeProcessor, written: list[str]) -> None:
    gated = Gated(fake)
    rt.processor = gated  # type: ignore[assignment]
    first = asyncio.create_task(_create(rt))
    await gated.reached(1)
    before = len(written)
    second = asyncio.create_task(_create(rt))
    await asyncio.sleep(0.5)  # about ten polls
    while_waiting = written[before:]
    gated.gates[0].set()
    made, repeated = await first, await second
    assert (made.replayed, repeated.replayed, repeated.id) == (False, True, made.id)
    # the repeat's one claim attempt; then reads, on the read-only engine: no INSERT and no write transaction
    assert while_waiting.count("insert") == 1
    assert while_waiting.count("begin") <= 2


async def test_a_finished_key_cannot_be_finished_again(rt: Runtime, fake: FakeProcessor) -> None:
    await _create(rt, "done")
    async with rt.db.begin() as conn:
        record = await action_store.get(conn, "done")
        assert record is not None
        with pytest.raises(action_store.ActionStateError, match="cannot move from succeeded to failed"):
            await action_store.finish(conn, record, now=rt.clock.now(), error={"code": "late"})
    [row] = await _rows(rt)
    assert (row["status"], row["error"]) == ("succeeded", None)
