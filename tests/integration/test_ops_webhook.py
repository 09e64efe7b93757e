"""Ops events POSTed, signed, to ``REMIT_OPS_WEBHOOK_URL`` through jobs on ``remit_ops``: a real HTTP receiver
on a loopback port, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from remit.control.forward import DELIVERY_JOB, SIGNATURE_HEADER
from remit.jobs.states import JobState
from remit.parts import build_runtime
from remit.runtime import Runtime
from remit.signing import verify_stripe_header
from remit.telemetry import ops
from remit.telemetry.metrics import REGISTRY
from tests.support.servers import serving
from tests.support.webhooks import webhook_settings

OPS_SECRET = "ops_hook_signing_secret_7f3a9c"


@dataclass
class Receiver:
    """A loopback HTTP server recording each POST; ``answers`` are the status codes to give, in order."""

    answers: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    async def hook(self, request: Request) -> Response:
        self.received.append((dict(request.headers), await request.body()))
        status = self.answers.pop(0) if self.answers else 204
        return Response(status_code=status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    target = Receiver()
    app = Starlette(routes=[Route("/hooks/T0/B0/s3cr3tpath", target.hook, methods=["POST"])])
    async with serving(app) as base:
        target.url = f"{base}/hooks/T0/B0/s3cr3tpath"
        yield target


@pytest.fixture
async def rt(db_url: str, receiver: Receiver) -> AsyncIterator[Runtime]:
    settings = webhook_settings(db_url, REMIT_OPS_WEBHOOK_URL=receiver.url, REMIT_OPS_WEBHOOK_SECRET=OPS_SECRET)
    runtime = build_runtime(settings)
    yield runtime
    await runtime.close()


async def _deliveries(runtime: Runtime) -> list[Any]:
    await runtime.closers[0]()  # flush what the sink noted into jobs (the runtime's close does this too)
    return await runtime.engine.list_jobs(name=DELIVERY_JOB)


def _delivered() -> float:
    return REGISTRY.get_sample_value("remit_ops_webhook_deliveries_total", {"outcome": "delivered"}) or 0.0


async def test_each_ops_event_is_posted_signed_with_its_metadata(rt: Runtime, receiver: Receiver) -> None:
    before = _delivered()
    ops.emit("emergency_stop", action="stop", scope="all", count=3, actor="operator:ada", secret="never sent")
    [queued] = await _deliveries(rt)
    assert queued.queue == "remit_ops"
    await rt.drain(["remit_ops"])
    [(headers, body)] = receiver.received
    verify_stripe_header(
        body.decode(), headers[SIGNATURE_HEADER.lower()], [OPS_SECRET], tolerance=300, now=rt.clock.now().timestamp()
    )
    document = json.loads(body)
    assert document["event"] == "emergency_stop"
    assert document["metadata"] == {"action": "stop", "scope": "all", "count": 3, "actor": "operator:ada"}
    assert set(document) == {"id", "event", "emitted_at", "metadata"}
    assert headers["content-type"] == "application/json"
    assert _delivered() - before == 1
    [job] = await rt.engine.list_jobs(name=DELIVERY_JOB)
    assert job.state is JobState.COMPLETED


async def test_a_receiver_error_is_retried_and_a_refusal_gives_up_without_forwarding_its_own_discard(
    rt: Runtime, receiver: Receiver
) -> None:
    receiver.answers = [503, 410]
    ops.emit("billing_switched", enabled=False, previous=True, actor="operator:ada")
    await _deliveries(rt)
    await rt.drain(["remit_ops"])
    [job] = await rt.engine.list_jobs(name=DELIVERY_JOB)
    assert job.state is JobState.RETRYABLE
    assert "HTTP 503" in str(job.errors)
    assert receiver.url not in str(job.errors)  # such URLs carry their own token
    await rt.engine.retry([job.id], actor="test")
    await rt.drain(["remit_ops"])
    [job] = await rt.engine.list_jobs(name=DELIVERY_JOB)
    assert job.state is JobState.DISCARDED  # 410: no retry can change that
    assert len(await _deliveries(rt)) == 1  # its jobs.discarded was not forwarded again
    assert len(receiver.received) == 2


async def test_an_event_emitted_just_before_close_is_still_queued(db_url: str, receiver: Receiver) -> None:
    settings = webhook_settings(db_url, REMIT_OPS_WEBHOOK_URL=receiver.url, REMIT_OPS_WEBHOOK_SECRET=OPS_SECRET)
    runtime = build_runtime(settings)
    ops.emit("webhook_dlq.prune", actor="cron", deleted=0, processed=0, dead=0, dry_run=False)
    await runtime.close()  # a CLI command ends here
    reader = build_runtime(webhook_settings(db_url))
    try:
        assert [job.args["event"] for job in await reader.engine.list_jobs(name=DELIVERY_JOB)] == ["webhook_dlq.prune"]
    finally:
        await reader.close()


async def test_without_a_url_nothing_is_forwarded(db_url: str) -> None:
    runtime = build_runtime(webhook_settings(db_url))
    try:
        # no forwarder's closer (the recorder of recent ops events, remit.control.recent, has one of its own)
        assert [c for c in runtime.closers if "install_forwarder" in c.__qualname__] == []
        ops.emit("webhook_dlq.prune", actor="cron", deleted=0, processed=0, dead=0, dry_run=False)
        await asyncio.sleep(0)
        assert await runtime.engine.list_jobs(name=DELIVERY_JOB) == []
    finally:
        await runtime.close()
