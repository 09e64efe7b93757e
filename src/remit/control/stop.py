"""The emergency stop: every queue paused and every webhook held in one command, undone by one command.

``remit stop --all`` pauses every queue a job could run on (:meth:`~remit.jobs.engine.Engine.known_queues`)
and records the stop in ``remit_flags`` (:data:`remit.flags.EMERGENCY_STOP`, with the queues it paused), in
one audited transaction. From then on workers claim nothing and ingest stores every delivery as ``held`` —
nothing the processor sends is lost, no handler runs. ``remit start --all`` resumes the queues the stop paused
(a queue someone paused before it stays paused, and is named), ends the stop, and releases the held events.
``remit stop --queue NAME`` / ``remit start --queue NAME`` do the same for one queue. Each emits the ops event
``emergency_stop`` (``action`` stop or start, ``scope`` all or queue), and ``GET /health`` reports
``degraded`` with the reason while anything is stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from remit import audit
from remit.flags import EMERGENCY_STOP, EmergencyStop, read_switches, write_switch
from remit.processor import credentials
from remit.runtime import Runtime
from remit.telemetry import ops
from remit.webhooks.held import release_held


@dataclass(frozen=True, slots=True)
class StopResult:
    """What a stop or start did. ``queues`` are those it paused or resumed; ``untouched`` those it left as
    they were (already paused at a stop; paused by someone else at a start)."""

    action: str
    scope: str
    queues: tuple[str, ...]
    untouched: tuple[str, ...] = ()
    released: int = 0
    stop: EmergencyStop | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "scope": self.scope,
            "queues": list(self.queues),
            "untouched": list(self.untouched),
            "released": self.released,
            "stop": self.stop.to_json() if self.stop else None,
        }


async def stop_all(runtime: Runtime, *, actor: str) -> StopResult:
    """Pause every queue and hold webhooks; idempotent (a second stop pauses queues that appeared since)."""
    engine, now = runtime.engine, runtime.clock.now()
    queues = await engine.known_queues()
    async with runtime.db.begin() as conn:
        switches = await read_switches(conn, runtime.settings)
        newly = await engine.pause_queues(conn, queues, actor=actor)  # those not paused already
        earlier = switches.stop
        ours = sorted({*(earlier.queues if earlier else ()), *newly})
        since, by = (earlier.since, earlier.by) if earlier else (now, actor)
        await write_switch(conn, EMERGENCY_STOP, True, at=since, by=by, details={"queues": ours})
        await audit.record(
            conn,
            at=now,
            actor=actor,
            action="emergency_stop.stop",
            subject="emergency_stop",
            details={"scope": "all", "paused": newly, "already_paused": sorted(set(queues) - set(newly))},
        )
    runtime.flags.invalidate()
    ops.emit("emergency_stop", action="stop", scope="all", count=len(newly), actor=actor)
    return StopResult(
        "stop",
        "all",
        tuple(newly),
        untouched=tuple(sorted(set(queues) - set(newly))),
        stop=EmergencyStop(since, by, tuple(ours)),
    )


async def start_all(runtime: Runtime, *, actor: str) -> StopResult:
    """End the emergency stop: resume the queues it paused, stop holding webhooks, release the held ones."""
    engine, now = runtime.engine, runtime.clock.now()
    async with runtime.db.begin() as conn:
        stop = (await read_switches(conn, runtime.settings)).stop
        ours = await engine.resume_queues(conn, stop.queues if stop else [], actor=actor)
        others = sorted(await engine.paused_queues(conn))
        await write_switch(conn, EMERGENCY_STOP, False, at=now, by=actor)
        await audit.record(
            conn,
            at=now,
            actor=actor,
            action="emergency_stop.start",
            subject="emergency_stop",
            details={"scope": "all", "resumed": ours, "still_paused": others, "was_stopped": stop is not None},
        )
    runtime.flags.invalidate()
    ops.emit("emergency_stop", action="start", scope="all", count=len(ours), actor=actor)
    released = await release_held(runtime)
    runtime.wake_workers()
    return StopResult("start", "all", tuple(ours), untouched=tuple(others), released=released)


async def stop_queue(runtime: Runtime, queue: str, *, actor: str) -> StopResult:
    """Pause one queue as an emergency stop (audited and announced as one)."""
    name = runtime.engine.queue_name(queue)
    async with runtime.db.begin() as conn:
        await runtime.engine.pause_queues(conn, [name], actor=actor)
        await audit.record(
            conn,
            at=runtime.clock.now(),
            actor=actor,
            action="emergency_stop.stop",
            subject=f"queue:{name}",
            details={"scope": "queue"},
        )
    ops.emit("emergency_stop", action="stop", scope="queue", queue=name, count=1, actor=actor)
    return StopResult("stop", "queue", (name,))


async def start_queue(runtime: Runtime, queue: str, *, actor: str) -> StopResult:
    """Resume one queue stopped with :func:`stop_queue` (or paused any other way), as ``remit queues resume``
    does: a queue the processor's expired credentials paused clears that expiry and resumes its other queues
    too (:func:`remit.processor.credentials.resume_queue`)."""
    resumed = await credentials.resume_queue(runtime.engine, runtime.processor.name, queue, actor=actor)
    name = resumed.name
    async with runtime.db.begin() as conn:
        await audit.record(
            conn,
            at=runtime.clock.now(),
            actor=actor,
            action="emergency_stop.start",
            subject=f"queue:{name}",
            details={"scope": "queue"},
        )
    ops.emit("emergency_stop", action="start", scope="queue", queue=name, count=1, actor=actor)
    runtime.wake_workers()
    return StopResult("start", "queue", (name, *resumed.also_resumed))


__all__ = ["StopResult", "start_all", "start_queue", "stop_all", "stop_queue"]
