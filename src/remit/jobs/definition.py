"""Declaring jobs: the :func:`job` decorator, the registry workers look names up in, and the signals a
running job can raise (:class:`Snooze`, :class:`Cancel`, :class:`Discard`).

A job function takes a :class:`~remit.jobs.context.JobContext` and its arguments as keywords::

    @job(queue="remit_webhooks", max_attempts=25, unique=UniqueBy("event_id"))
    async def dispatch_event(ctx: JobContext, event_id: int) -> None: ...

    await dispatch_event.enqueue(conn, event_id=42)   # inside the caller's transaction

Arguments are stored as JSON, so they must be JSON values (identifiers, never secrets or customer data).
Plain (non-async) functions run in a thread so they cannot stall the worker's event loop.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from remit.errors import JobError, UnknownJob
from remit.jobs.retry import DEFAULT_BACKOFF, Backoff

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.ext.asyncio import AsyncConnection

    from remit.jobs.context import JobContext
    from remit.jobs.records import Job

JobFunction = Callable[..., Awaitable[Any] | Any]
#: Runs in the transaction that discards a job: ``await hook(conn, job, error)``.
DiscardHook = Callable[["AsyncConnection", "Job", dict[str, Any]], Awaitable[None]]


class Snooze(Exception):
    """Raised by a job to run again after ``seconds`` without spending an attempt (e.g. on HTTP 429)."""

    def __init__(self, seconds: float, reason: str = "snoozed") -> None:
        self.seconds = max(0.0, float(seconds))
        self.reason = reason
        super().__init__(f"{reason}; again in {self.seconds:g}s")


class Cancel(Exception):
    """Raised by a job to stop for good: the job is cancelled, not retried."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class Discard(Exception):
    """Raised by a job to give up now because no retry can succeed (the input itself is wrong): the job is
    ``discarded`` at once instead of spending its remaining attempts, ``reason`` is kept in its errors as a
    failure's message would be, and its discard hooks run — unlike :class:`Cancel`, which means "nothing
    to do" and fires no hook. ``reason`` is stored and shown to operators: identifiers only."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class UniqueBy:
    """Unique policy: at most one pending job per (job name, these argument values).

    With no fields the whole argument mapping is the key. The key is hashed so it fits the column whatever
    the arguments hold.
    """

    fields: tuple[str, ...] = ()

    def __init__(self, *fields: str) -> None:
        object.__setattr__(self, "fields", tuple(fields))

    def key(self, name: str, args: Mapping[str, Any]) -> str:
        try:
            subject = {f: args[f] for f in self.fields} if self.fields else dict(args)
        except KeyError as missing:
            raise JobError(f"job {name} is unique by {missing}, which its arguments lack") from None
        digest = hashlib.sha256(json.dumps(subject, sort_keys=True, default=str).encode()).hexdigest()[:32]
        return f"{name}:{digest}"


@dataclass(frozen=True)
class JobDefinition:
    """A registered job: the function and how the engine treats it."""

    name: str
    func: JobFunction
    queue: str
    max_attempts: int = 20
    backoff: Backoff = DEFAULT_BACKOFF
    timeout: float | None = None
    priority: int = 0
    unique: UniqueBy | None = None
    on_discard: tuple[DiscardHook, ...] = field(default=())

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.func)

    def unique_key(self, args: Mapping[str, Any]) -> str | None:
        return self.unique.key(self.name, args) if self.unique else None

    async def enqueue(self, conn: AsyncConnection, **args: Any) -> int | None:
        """Insert this job in the caller's transaction; the id, or None when a unique twin is pending."""
        from remit.jobs.enqueue import enqueue

        return await enqueue(conn, self, args)

    def enqueue_sync(self, conn: Connection, **args: Any) -> int | None:
        from remit.jobs.enqueue import enqueue_sync

        return enqueue_sync(conn, self, args)

    async def __call__(self, ctx: JobContext, **args: Any) -> Any:
        """Run the function directly (inline), as a worker would."""
        result = self.func(ctx, **args)
        if inspect.isawaitable(result):
            result = await result
        return result


class JobRegistry:
    """Job definitions by name; a worker runs only what is registered in its process."""

    def __init__(self) -> None:
        self._jobs: dict[str, JobDefinition] = {}
        self._discard_hooks: list[DiscardHook] = []

    def add(self, definition: JobDefinition) -> JobDefinition:
        existing = self._jobs.get(definition.name)
        if existing is not None and existing.func is not definition.func:
            raise JobError(f"two jobs are registered as {definition.name!r}")
        self._jobs[definition.name] = definition
        return definition

    def get(self, name: str) -> JobDefinition:
        try:
            return self._jobs[name]
        except KeyError:
            raise UnknownJob(f"no job is registered as {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._jobs

    def names(self) -> list[str]:
        return sorted(self._jobs)

    def definitions(self) -> Iterable[JobDefinition]:
        return list(self._jobs.values())

    def on_discard(self, hook: DiscardHook) -> DiscardHook:
        """Register a hook that runs, in the discarding transaction, for every job discarded."""
        self._discard_hooks.append(hook)
        return hook

    def discard_hooks(self, definition: JobDefinition | None) -> list[DiscardHook]:
        own = list(definition.on_discard) if definition else []
        return own + self._discard_hooks


#: The registry the :func:`job` decorator fills unless told otherwise.
default_registry = JobRegistry()


def job(
    *,
    queue: str,
    name: str | None = None,
    max_attempts: int = 20,
    backoff: Backoff = DEFAULT_BACKOFF,
    timeout: float | None = None,
    priority: int = 0,
    unique: UniqueBy | None = None,
    on_discard: Iterable[DiscardHook] = (),
    registry: JobRegistry | None = None,
) -> Callable[[JobFunction], JobDefinition]:
    """Declare a job. ``queue`` is the queue key (renameable by ``REMIT_QUEUES``); ``name`` defaults to
    ``module.function``, and is what is stored, so keep it stable across refactors once jobs are queued."""
    if max_attempts < 1:
        raise JobError("max_attempts must be at least 1")
    if timeout is not None and timeout <= 0:
        raise JobError("timeout must be positive")

    def decorate(func: JobFunction) -> JobDefinition:
        definition = JobDefinition(
            name=name or f"{func.__module__}.{func.__qualname__}",
            func=func,
            queue=queue,
            max_attempts=max_attempts,
            backoff=backoff,
            timeout=timeout,
            priority=priority,
            unique=unique,
            on_discard=tuple(on_discard),
        )
        return (registry or default_registry).add(definition)

    return decorate
