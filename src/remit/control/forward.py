"""Ops events to a URL: every ops event POSTed, signed, to ``REMIT_OPS_WEBHOOK_URL``, retried by the job engine.

When ``REMIT_OPS_WEBHOOK_URL`` is set, :func:`install_forwarder` (called by :func:`remit.parts.build_runtime`)
adds an ops-event sink to the runtime. The sink only notes the event; a background task of the runtime turns
what was noted into jobs — one :data:`deliver_ops_event` job per event on queue ``remit_ops``, several per
transaction — and the runtime's close waits for it, so a CLI command that emits an event still queues its
delivery before it exits. The job POSTs::

    {"id": "<uuid>", "event": "webhook_dlq.dead_lettered", "emitted_at": "2025-…Z", "metadata": {…}}

with ``Content-Type: application/json`` and ``Remit-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<body>">`` under ``REMIT_OPS_WEBHOOK_SECRET`` (Stripe's scheme, :mod:`remit.signing`, so a receiver can
verify it with any Stripe webhook library). A 2xx ends the job; a 429 snoozes it for its ``Retry-After``;
400, 401, 403, 404, 405, 410, 413 and 422 discard it at once (no retry can change them); any other answer or
a network error is retried with backoff (:data:`DELIVERY_BACKOFF`, :data:`DELIVERY_ATTEMPTS` attempts, about a
day).

The metadata is what :func:`remit.telemetry.ops.emit` kept (identifiers, codes and counts); the URL is never
logged or stored in an error, since such URLs often carry their own token. A delivery job that is discarded
emits ``jobs.discarded`` like any job, which is *not* forwarded again (no loop while the receiver is down).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import httpx

from remit.jobs.context import JobContext
from remit.jobs.definition import job
from remit.jobs.retry import Backoff
from remit.jobs.rows import JobRequest
from remit.jobs.signals import Discard, Snooze
from remit.runtime import Runtime
from remit.signing import stripe_header
from remit.telemetry import metrics, ops

log = logging.getLogger("remit.ops.forward")

DELIVERY_JOB = "remit.ops.deliver"
SIGNATURE_HEADER = "Remit-Signature"
#: 30 s, 1 min, 2 min … capped at 2 h, ±20 %: 16 attempts span about a day.
DELIVERY_BACKOFF = Backoff(base=30.0, factor=2.0, cap=2 * 3600.0, jitter=0.2)
DELIVERY_ATTEMPTS = 16
DELIVERY_TIMEOUT_S = 10.0
#: Answers no retry can change: the receiver refuses this request as it is.
REFUSED = frozenset({400, 401, 403, 404, 405, 410, 413, 422})


class OpsDeliveryFailed(Exception):
    """The receiver did not take the event this attempt (the message has the status or error type only)."""


def delivery_body(delivery_id: str, event: str, emitted_at: str, metadata: dict[str, Any]) -> str:
    """The JSON body of one delivery, compact and with sorted keys (pure)."""
    document = {"id": delivery_id, "event": event, "emitted_at": emitted_at, "metadata": metadata}
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


@job(queue="remit_ops", name=DELIVERY_JOB, max_attempts=DELIVERY_ATTEMPTS, backoff=DELIVERY_BACKOFF)
async def deliver_ops_event(
    ctx: JobContext[Runtime], delivery_id: str, event: str, emitted_at: str, metadata: dict[str, Any]
) -> None:
    """POST one ops event to ``REMIT_OPS_WEBHOOK_URL`` (see the module docs)."""
    settings = ctx.app.settings
    if not settings.ops_webhook_url or not settings.ops_webhook_secret:
        raise Discard("REMIT_OPS_WEBHOOK_URL or REMIT_OPS_WEBHOOK_SECRET is no longer set")
    body = delivery_body(delivery_id, event, emitted_at, metadata)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: stripe_header(body, settings.ops_webhook_secret, int(ctx.app.clock.now().timestamp())),
        "User-Agent": "remit-ops-webhook",
    }
    try:
        async with httpx.AsyncClient(timeout=DELIVERY_TIMEOUT_S, follow_redirects=False) as client:
            response = await client.post(settings.ops_webhook_url, content=body.encode("utf-8"), headers=headers)
    except httpx.HTTPError as exc:
        metrics.ops_webhook_deliveries_total.labels(outcome="retry").inc()
        raise OpsDeliveryFailed(f"ops webhook not reached ({type(exc).__name__})") from None
    status = response.status_code
    if 200 <= status < 300:
        metrics.ops_webhook_deliveries_total.labels(outcome="delivered").inc()
        return
    if status == 429:
        metrics.ops_webhook_deliveries_total.labels(outcome="retry").inc()
        raise Snooze(_retry_after(response.headers.get("retry-after")), "ops webhook answered 429")
    if status in REFUSED:
        metrics.ops_webhook_deliveries_total.labels(outcome="refused").inc()
        raise Discard(f"ops webhook refused the event with HTTP {status}")
    metrics.ops_webhook_deliveries_total.labels(outcome="retry").inc()
    raise OpsDeliveryFailed(f"ops webhook answered HTTP {status}")


def _retry_after(value: str | None, default: float = 60.0, cap: float = 3600.0) -> float:
    """Seconds from a ``Retry-After`` of plain seconds (pure); ``default`` for anything else."""
    if value is not None and value.strip().isdigit():
        return min(float(value.strip()), cap)
    return default


def forwarded(name: str, metadata: dict[str, Any]) -> bool:
    """Whether an ops event is forwarded: all are, but the discard of a delivery job itself (pure)."""
    return not (name == "jobs.discarded" and metadata.get("job_name") == DELIVERY_JOB)


class OpsForwarder:
    """The sink that queues a delivery job per ops event (see the module docs).

    ``ops.emit`` is synchronous and may run inside another transaction (a dead letter is emitted in the
    transaction that discards its job), so the sink only appends to a list; one task of the running loop
    drains the list into jobs, one transaction per batch.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._pending: list[JobRequest] = []
        self._drain: asyncio.Task[None] | None = None

    def __call__(self, name: str, metadata: dict[str, Any]) -> None:
        if not forwarded(name, metadata):
            return
        args = {
            "delivery_id": str(uuid.uuid4()),
            "event": name,
            "emitted_at": self.runtime.clock.now().isoformat(),
            "metadata": dict(metadata),
        }
        self._pending.append(JobRequest(deliver_ops_event, args))
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            log.warning("ops event not forwarded: emitted outside an event loop", extra={"ops_event": name})
            self._pending.clear()
            return
        if self._drain is None or self._drain.done():
            self._drain = loop.create_task(self._drain_pending())

    async def _drain_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                async with self.runtime.db.begin() as conn:
                    await self.runtime.engine.enqueue_many(conn, batch)
            except Exception as exc:
                log.error(
                    "ops events not queued for the ops webhook",
                    extra={"count": len(batch), "error_type": type(exc).__name__},
                )
                continue
            self.runtime.wake_workers(self.runtime.engine.queue_name(deliver_ops_event.queue))

    async def flush(self) -> None:
        """Wait until every event noted so far is queued (the runtime's close calls this)."""
        while self._drain is not None and not self._drain.done():
            await self._drain
        if self._pending:
            await self._drain_pending()


def install_forwarder(runtime: Runtime) -> OpsForwarder | None:
    """Forward this runtime's ops events when ``REMIT_OPS_WEBHOOK_URL`` is set: the sink is added now and
    removed, after a last flush, when the runtime closes. None when no URL is set."""
    if not runtime.settings.ops_webhook_url:
        return None
    forwarder = OpsForwarder(runtime)
    remove = ops.add_sink(forwarder)

    async def close() -> None:
        try:
            await forwarder.flush()
        finally:
            remove()

    runtime.closers.append(close)
    return forwarder


__all__ = [
    "DELIVERY_ATTEMPTS",
    "DELIVERY_BACKOFF",
    "DELIVERY_JOB",
    "REFUSED",
    "SIGNATURE_HEADER",
    "OpsDeliveryFailed",
    "OpsForwarder",
    "deliver_ops_event",
    "delivery_body",
    "forwarded",
    "install_forwarder",
]
