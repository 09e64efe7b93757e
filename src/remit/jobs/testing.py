"""Running jobs inline, for tests (remit's own and a host's).

:func:`drain` claims and runs every due job, as a worker would (same claim, same outcome rules, same hooks),
until none is left, and returns what became of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa

from remit.db.tables import jobs
from remit.jobs.states import RUNNABLE
from remit.jobs.worker import Worker
from remit.runtime import Runtime


async def drain(runtime: Runtime, queues: Sequence[str] | None = None, *, max_rounds: int = 100) -> Counter[str]:
    """Run due jobs of ``queues`` (default: every queue that has any) until none is due.

    Jobs a run enqueues are run too, when due now; retries scheduled for later are not waited for. Returns the
    count of runs per outcome (``completed``, ``retryable``, ``discarded``, ``cancelled``, ``snoozed``).
    """
    worker = Worker(runtime, queues=queues, worker_id="remit-test-drain", lead=False, listen=False)
    await worker._heartbeat_once()
    for _ in range(max_rounds):
        names = list(queues) if queues else await _queues_with_due_jobs(runtime)
        if not names or await worker.run_due(names) == 0:
            break
    return worker.outcomes


async def _queues_with_due_jobs(runtime: Runtime) -> list[str]:
    async with runtime.db.connect() as conn:
        rows = await conn.execute(
            sa.select(jobs.c.queue)
            .where(jobs.c.state.in_([s.value for s in RUNNABLE]), jobs.c.scheduled_at <= runtime.clock.now())
            .distinct()
        )
        return [row[0] for row in rows]
