"""Waking workers: LISTEN/NOTIFY on PostgreSQL, with polling as the fallback everywhere.

The ``remit_jobs`` trigger (first migration) sends the queue's name on the ``remit_jobs`` channel when a
transaction that inserted available jobs commits. A worker keeps one dedicated connection listening; when
that connection drops it reconnects with backoff and, having possibly missed notifications, wakes every
queue once. Polling (``REMIT_JOB_POLL_INTERVAL``) still runs, so a lost notification costs latency, never
a job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy.engine import make_url

log = logging.getLogger("remit.jobs")

CHANNEL = "remit_jobs"
#: Job progress (:mod:`remit.jobs.progress`): the payload is the job's id.
PROGRESS_CHANNEL = "remit_job_progress"


def libpq_dsn(url: str) -> str:
    """A ``postgresql://`` URL psycopg accepts, from any SQLAlchemy PostgreSQL URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Listener:
    """Calls ``wake(payload)`` for each notification on ``channel`` (a queue's name on :data:`CHANNEL`), and
    ``wake(None)`` (everything) after each (re)connect."""

    def __init__(
        self, url: str, wake: Callable[[str | None], None], *, max_backoff: float = 5.0, channel: str = CHANNEL
    ) -> None:
        self._dsn = libpq_dsn(url)
        self._channel = channel
        self._wake = wake
        self._max_backoff = max_backoff
        self.connected = asyncio.Event()
        self.reconnects = 0

    async def run(self) -> None:
        import psycopg

        delay = 0.2
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {self._channel}")
                    self.connected.set()
                    delay = 0.2
                    self._wake(None)  # anything inserted while we were not listening
                    async for notify in conn.notifies():
                        self._wake(notify.payload or None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.connected.clear()
                self.reconnects += 1
                log.warning("job listener lost its connection (%s); reconnecting in %.1fs", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff)
