"""Declaring jobs: the :func:`job` decorator and the registry a worker looks names up in.

A job function takes a :class:`~remit.jobs.context.JobContext` and its arguments as keywords::

    @job(queue="remit_webhooks", max_attempts=25, unique=UniqueBy("event_id"))
    async def dispatch_event(ctx: JobContext, event_id: int) -> None: ...

    await runtime.engine.enqueue(conn, dispatch_event, {"event_id": 42})   # in the caller's transaction

:func:`job` only declares: it returns a :class:`JobDefinition` and registers it nowhere (unless given a
``registry``), so importing a job module changes nothing. A runtime's registry is composed from the parts
that list their jobs and from the host's modules, whose definitions are collected
(:func:`remit.part.part_from_module`). Arguments are stored as JSON, so they must be JSON values
(identifiers, never secrets or customer data). Plain (non-async) functions run in a thread so they cannot
stall the worker's event loop.
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
    from sqlalchemy.ext.asyncio import AsyncConnection

    from remit.jobs.records import Job

JobFunction = Callable[..., Awaitable[Any] | Any]
#: Runs in the transaction that discards a job: ``await hook(conn, job, error)``.
DiscardHook = Callable[["AsyncConnection", "Job", dict[str, Any]], Awaitable[None]]


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

    async def __call__(self, ctx: Any, **args: Any) -> Any:
        """Run the function directly (inline), as a worker would, with ``ctx`` a
        :class:`~remit.jobs.context.JobContext` (or whatever the function needs of one, in a test)."""
        result = self.func(ctx, **args)
        if inspect.isawaitable(result):
            result = await result
        return result


class JobRegistry:
    """Job definitions by name: an engine runs only what its registry holds (composed from the parts)."""

    def __init__(self, definitions: Iterable[JobDefinition] = ()) -> None:
        self._jobs: dict[str, JobDefinition] = {}
        self._discard_hooks: list[DiscardHook] = []
        for definition in definitions:
            self.add(definition)

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
    ``module.function``, and is what is stored, so keep it stable across refactors once jobs are queued.
    ``registry``, when given, gets the definition added (tests and scripts); otherwise it goes nowhere."""
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
        return registry.add(definition) if registry is not None else definition

    return decorate
