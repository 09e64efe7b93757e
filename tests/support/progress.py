"""The worker set-up the job-progress tests share (API, CLI and admin page): a job that reports progress
``i/steps`` each time the test lets it take a step, and the engine's worker loop that runs it.

:class:`Stepper` (the ``stepper`` fixture in ``tests/integration/conftest.py``) registers the job on the
test's runtime, enqueues it, and runs it step by step while the test follows it; :func:`sse_events` reads a
server-sent events body.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any, TypeVar

from remit.jobs.definition import JobDefinition, job
from remit.runtime import Runtime

QUEUE = "test_default"
#: The settings a stepping job needs: its queue, with room for a few at once.
QUEUES_SETTING = f"{QUEUE}:5"
JOB_NAME = "test.steps"

T = TypeVar("T")


class Stepper:
    """The stepping job on ``runtime``: :meth:`enqueue` it, then :meth:`step` or :meth:`run` it."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.gate: asyncio.Queue[None] = asyncio.Queue()
        self.definition = self._define()
        runtime.engine.registry.add(self.definition)

    def _define(self) -> JobDefinition:
        gate = self.gate

        @job(queue=QUEUE, name=JOB_NAME)
        async def steps_job(ctx, steps=1, **_):  # type: ignore[no-untyped-def]
            for done in range(1, steps + 1):
                await gate.get()
                await ctx.progress(done, steps)

        return steps_job

    async def enqueue(self, steps: int, **args: Any) -> int:
        """A new job of ``steps`` steps (``args`` are stored with it, never shown); its id."""
        async with self.runtime.db.begin() as conn:
            job_id = await self.runtime.engine.enqueue(conn, self.definition, {"steps": steps, **args})
        assert job_id is not None
        return job_id

    def start(self) -> asyncio.Task[Any]:
        """The engine's worker loop draining the queue, as a task (each step waits for :meth:`step`)."""
        return asyncio.create_task(self.runtime.drain([QUEUE]))

    async def step(self, n: int = 1) -> None:
        """Let the running job take ``n`` more steps."""
        for _ in range(n):
            await self.gate.put(None)

    async def run(self, steps: int) -> None:
        """Run the queued job(s) to the end, ``steps`` steps in all."""
        runner = self.start()
        await self.step(steps)
        await runner

    async def run_while(self, follower: Awaitable[T], steps: int, *, timeout: float = 60) -> T:
        """Start ``follower`` (a stream request, a follow), run the job's ``steps`` steps, and return what
        the follower got once the job ended."""
        following = asyncio.ensure_future(follower)
        await self.run(steps)
        return await asyncio.wait_for(following, timeout)


def sse_events(body: str) -> list[tuple[str, dict[str, object]]]:
    """The ``(event, data)`` pairs of a server-sent events body (comments skipped)."""
    events = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if lines:
            events.append((lines["event"], json.loads(lines["data"])))
    return events


__all__ = ["JOB_NAME", "QUEUE", "QUEUES_SETTING", "Stepper", "sse_events"]
