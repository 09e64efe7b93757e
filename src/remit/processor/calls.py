"""The one way a job calls the payment processor: :func:`processor_call` maps processor faults to job outcomes.

::

    @job(queue="remit_payment_sync", max_attempts=10)
    async def sync_payment(ctx: JobContext[Runtime], invoice_id: str) -> None:
        async with processor_call(ctx, "payment sync"):
            invoice = await ctx.app.processor.retrieve_invoice(invoice_id)
        ...  # write what came back, in a transaction of its own

A :class:`~remit.errors.ProcessorError` raised inside the block becomes (:mod:`remit.processor.faults`):

- 429: the job snoozes — no attempt spent — for ``Retry-After`` held within bounds and jittered; one log line
  ``<activity> throttled`` (identifiers only) and ``remit_processor_throttled_total{queue}`` counts it;
- 401/403: the credentials are marked expired, the job's queue and ``REMIT_PROCESSOR_QUEUES`` are paused for
  every worker, ``processor_credentials_expired`` is emitted once (:mod:`remit.processor.credentials`), and
  the job snoozes; after the key is rotated, ``remit queues resume`` brings it back;
- anything else (5xx, a timeout, a refused request) is raised unchanged: a failure, retried with the job's
  backoff — or caught by the job around the block, to discard on a 4xx no retry can fix.

The block may run again after a snooze or a retry, so every mutating call in it carries an idempotency key,
and it must not be inside an open database transaction (the fake processor writes in its own, and a snooze
would roll the caller's back anyway).
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol, TypeVar

from remit.config import Settings
from remit.errors import ProcessorError
from remit.jobs.context import JobContext
from remit.jobs.signals import Snooze
from remit.processor.base import Processor
from remit.processor.credentials import mark_expired
from remit.processor.faults import CREDENTIALS_EXPIRED_SNOOZE_S, Fault, classify, throttle_delay
from remit.telemetry import metrics

log = logging.getLogger("remit.processor")


class ProcessorApp(Protocol):
    """What :func:`processor_call` needs of ``ctx.app``: the processor and the settings (remit's
    :class:`~remit.runtime.Runtime` has both)."""

    @property
    def processor(self) -> Processor: ...

    @property
    def settings(self) -> Settings: ...


App = TypeVar("App", bound=ProcessorApp)


@asynccontextmanager
async def processor_call(ctx: JobContext[App], activity: str) -> AsyncIterator[None]:
    """Run the block's processor calls for the job ``ctx`` runs, mapping their faults to job outcomes (see
    the module docs). ``activity`` names the work in the part's own words (``usage reporting``,
    ``payment sync``): a fixed phrase, never an id, for the log line and the snooze reason."""
    try:
        yield
    except ProcessorError as error:
        fault = classify(error)
        if fault is Fault.THROTTLED:
            raise _throttled(ctx, activity, error) from None
        if fault is Fault.CREDENTIALS_EXPIRED:
            raise await _credentials_expired(ctx, activity, error) from None
        raise


def _throttled(ctx: JobContext[App], activity: str, error: ProcessorError) -> Snooze:
    job = ctx.job
    delay = throttle_delay(error.retry_after, random.random())
    metrics.processor_throttled_total.labels(queue=job.queue).inc()
    log.warning(
        "%s throttled",
        activity,
        extra={
            "job_id": job.id,
            "job_name": job.name,
            "queue": job.queue,
            "retry_after": error.retry_after,
            "snooze_s": round(delay, 3),
        },
    )
    return Snooze(delay, f"{activity} throttled")


async def _credentials_expired(ctx: JobContext[App], activity: str, error: ProcessorError) -> Snooze:
    app, job = ctx.app, ctx.job
    await mark_expired(
        ctx.engine,
        processor=app.processor.name,
        error=error,
        job=job,
        queues=app.settings.processor_queues,
    )
    log.warning(
        "%s stopped: processor credentials expired",
        activity,
        extra={"job_id": job.id, "job_name": job.name, "queue": job.queue, "status_code": error.status_code},
    )
    return Snooze(CREDENTIALS_EXPIRED_SNOOZE_S, "processor credentials expired")


__all__ = ["ProcessorApp", "processor_call"]
