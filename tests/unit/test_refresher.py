"""The metrics refresher: one collection shared by every reader, ahead of them while they keep reading."""

from __future__ import annotations

import asyncio

import pytest

from remit.telemetry.refresher import IDLE_INTERVALS, Refresher


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def counting(clock: Clock, *, gate: asyncio.Event | None = None) -> tuple[list[float], Refresher]:
    calls: list[float] = []

    async def collect() -> None:
        calls.append(clock.now)
        if gate is not None:
            await gate.wait()

    return calls, Refresher(collect, interval=10.0, clock=clock)


async def test_the_first_read_collects_and_later_reads_within_two_intervals_do_not() -> None:
    clock = Clock()
    calls, refresher = counting(clock)
    await refresher.fresh()
    assert calls == [100.0]
    clock.now += 19.9
    await refresher.fresh()
    assert calls == [100.0]  # served what the last collection left, 19.9 s old
    assert refresher.age() == pytest.approx(19.9)
    await refresher.close()


async def test_a_read_finding_the_last_collection_older_than_two_intervals_collects_in_the_request() -> None:
    clock = Clock()
    calls, refresher = counting(clock)
    await refresher.fresh()
    await refresher.close()  # no loop: the collection ages
    clock.now += 20.0
    await refresher.fresh()
    assert calls == [100.0, 120.0]
    await refresher.close()


async def test_concurrent_readers_share_one_collection() -> None:
    clock = Clock()
    gate = asyncio.Event()
    calls, refresher = counting(clock, gate=gate)
    readers = [asyncio.create_task(refresher.fresh()) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(*readers)
    assert calls == [100.0]
    await refresher.close()


async def test_interval_zero_collects_on_every_read_and_starts_no_loop() -> None:
    clock = Clock()
    calls: list[float] = []

    async def collect() -> None:
        calls.append(clock.now)

    refresher = Refresher(collect, interval=0.0, clock=clock)
    for _ in range(3):
        await refresher.fresh()
    assert len(calls) == 3
    assert refresher._task is None


async def test_the_loop_collects_ahead_of_readers_and_stops_when_nobody_reads() -> None:
    """Time is the fake clock; the loop's sleeps are real but zero-length once the clock has moved past them."""
    clock = Clock()
    calls: list[float] = []
    refresher: Refresher

    async def collect() -> None:
        calls.append(clock.now)

    refresher = Refresher(collect, interval=0.001, clock=clock)  # real sleeps of at most a millisecond
    await refresher.fresh()
    task = refresher._task
    assert task is not None
    for _ in range(3):
        clock.now += 0.001
        await asyncio.sleep(0.005)
    assert len(calls) >= 3  # collected ahead, without a read
    clock.now += 0.001 * IDLE_INTERVALS
    await asyncio.wait_for(task, timeout=5)  # nobody read for IDLE_INTERVALS intervals: it ends
    count = len(calls)
    clock.now += 1.0
    await asyncio.sleep(0.01)
    assert len(calls) == count
    await refresher.close()


async def test_a_failing_collection_propagates_to_the_reader_that_asked_for_it() -> None:
    clock = Clock()

    async def collect() -> None:
        raise RuntimeError("boom")

    refresher = Refresher(collect, interval=10.0, clock=clock)
    with pytest.raises(RuntimeError):
        await refresher.fresh()
    assert refresher.age() is None


def test_the_overview_takes_paused_flags_read_now_over_the_counted_ones() -> None:
    from remit.admin.overview import with_paused
    from remit.jobs.admin import QueueStats

    counted = [QueueStats(name="b", available=3, paused=True), QueueStats(name="a", discarded=1)]
    now = with_paused(counted, {"a", "c"})
    assert [(q.name, q.paused, q.available, q.discarded) for q in now] == [
        ("a", True, 0, 1),
        ("b", False, 3, 0),
        ("c", True, 0, 0),
    ]
