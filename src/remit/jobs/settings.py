"""What the job engine reads of the settings, and queue names as the host configured them.

remit's code names queues by their key (``remit_webhooks``); the host may rename any of them with
``REMIT_QUEUES`` (``remit_webhooks=billing_hooks:20``). :meth:`JobSettings.queue_name` turns a key into the name
stored on jobs. The engine holds one :class:`JobSettings` of its own, so nothing in ``jobs/`` reads module state
and two engines in one process (a test's two runtimes) never see each other's queues.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from remit.config import QueueSpec, Settings, parse_queues


@dataclass(frozen=True)
class JobSettings:
    """The engine's knobs (``REMIT_JOB_*``, ``REMIT_JOBS_*``, ``REMIT_QUEUES``); see docs/configuration.md."""

    queues: Mapping[str, QueueSpec] = field(default_factory=lambda: parse_queues(""))
    poll_interval: float = 1.0
    heartbeat_interval: float = 5.0
    lease_seconds: float = 60.0
    shutdown_grace: float = 25.0
    batch_size: int = 100
    completed_retention_hours: float = 24.0
    discarded_retention_days: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> JobSettings:
        return cls(
            queues=settings.queues,
            poll_interval=settings.job_poll_interval,
            heartbeat_interval=settings.job_heartbeat_interval,
            lease_seconds=settings.job_lease_seconds,
            shutdown_grace=settings.job_shutdown_grace,
            batch_size=settings.job_batch_size,
            completed_retention_hours=settings.jobs_completed_retention_hours,
            discarded_retention_days=settings.jobs_discarded_retention_days,
        )

    @property
    def leader_ttl(self) -> float:
        """How long a leader's claim lasts without renewal: half a lease (at least a second)."""
        return max(self.lease_seconds / 2, 1.0)

    @property
    def leader_tick(self) -> float:
        """How often the scheduler renews leadership and looks for due work: at most every second."""
        return min(1.0, self.leader_ttl / 3)

    def queue_name(self, key: str) -> str:
        """The stored name of queue ``key``; a key nobody configured is its own name."""
        spec = self.queues.get(key)
        return spec.name if spec else key

    def select_queues(self, wanted: Sequence[str] | None) -> list[QueueSpec]:
        """The queues a worker serves: all configured ones, or those named (by key or stored name).

        A name nobody configured is a host queue with concurrency 10.
        """
        return select_queues(self.queues, wanted)


def select_queues(configured: Mapping[str, QueueSpec], wanted: Sequence[str] | None) -> list[QueueSpec]:
    """See :meth:`JobSettings.select_queues` (pure)."""
    if not wanted:
        return list(configured.values())
    by_name = {spec.name: spec for spec in configured.values()}
    chosen = []
    for item in wanted:
        spec = configured.get(item) or by_name.get(item) or QueueSpec(item, item, 10)
        if spec not in chosen:
            chosen.append(spec)
    return chosen


__all__ = ["JobSettings", "select_queues"]
