"""The OpenAPI document against the running service, on SQLite and PostgreSQL: schemathesis generates
requests for every operation the document declares (positive and negative data, a bounded number each) and
checks every answer: never a 5xx, a status code, content type, headers and body the document declares.

The service is remit's real app on uvicorn, in a thread with its own event loop, over a database holding a
little of everything the API lists (mirrored objects, a webhook event, a finished job), so list answers are
validated with data in them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from remit.api.app import create_app
from remit.billing import apply_event
from remit.config import Settings
from remit.jobs.definition import job
from remit.parts import build_runtime
from remit.runtime import Runtime
from tests.support.servers import StandInServer

pytestmark = pytest.mark.timeout(300)

TOKEN = "tok_fuzz_0123456789abcdef0123456789"
#: Examples per operation and generation mode: enough to reach every parameter's edge, small enough to be fast.
EXAMPLES = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@job(queue="test_default", name="test.fuzz_seed")
async def seed_job(ctx: Any, **_: Any) -> None:
    await ctx.progress(1, 1)


async def _seed(runtime: Runtime) -> None:
    objects = [
        ("customer.created", {"id": "cus_fuzz", "object": "customer", "created": 1_772_366_400, "email": None}),
        (
            "customer.subscription.created",
            {"id": "sub_fuzz", "object": "subscription", "customer": "cus_fuzz", "status": "active", "created": 1},
        ),
        ("invoice.created", {"id": "in_fuzz", "object": "invoice", "customer": "cus_fuzz", "status": "draft"}),
        ("charge.succeeded", {"id": "ch_fuzz", "object": "charge", "customer": "cus_fuzz", "status": "succeeded"}),
    ]
    for n, (event_type, obj) in enumerate(objects):
        event = {"id": f"evt_fuzz_{n}", "object": "event", "type": event_type, "created": 1_772_366_400 + n}
        async with runtime.db.begin() as conn:
            await apply_event(conn, runtime, {**event, "data": {"object": obj}})
    runtime.engine.registry.add(seed_job)
    async with runtime.db.begin() as conn:
        await runtime.engine.enqueue(conn, seed_job, {})
    await runtime.drain(["test_default"])


@contextmanager
def served(db_url: str) -> Iterator[str]:
    """remit's app on uvicorn on a free loopback port, in a thread with its own loop; its base URL."""
    values = {
        "DATABASE_URL": db_url,
        "REMIT_ENV": "test",
        "REMIT_QUEUES": "test_default:1",
        "REMIT_SERVICE_TOKENS": TOKEN,
        "CRON_SECRET": TOKEN,  # one Authorization header reaches both guarded groups
        "PROVISIONING_CALLBACK_SECRET": "whsec_fuzz_callback_secret",
        "REMIT_API_RATE_LIMIT": "0",
    }
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def main() -> None:
        runtime = build_runtime(Settings.model_validate(values))
        try:
            await _seed(runtime)
            server = StandInServer(create_app(runtime))
            state["server"] = server
            task = asyncio.create_task(server.serve())
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
            state["port"] = server.port
            ready.set()
            await task
        except BaseException as exc:
            state["error"] = exc
            ready.set()
            raise
        finally:
            await runtime.close()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert ready.wait(60), "the service did not start"
    if "error" in state:
        raise state["error"]
    try:
        yield f"http://127.0.0.1:{state['port']}"
    finally:
        state["server"].should_exit = True
        thread.join(30)


def test_every_operation_answers_as_the_document_says(db_url: str) -> None:
    with served(db_url) as base:
        document = httpx.get(f"{base}/openapi.json").json()
        schema = schemathesis.openapi.from_dict(document)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) == len([op for item in document["paths"].values() for op in item])
        headers = {"Authorization": f"Bearer {TOKEN}"}
        calls: dict[str, int] = {}
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    fuzz(operation, mode, base, headers, calls)
                except Unsatisfiable:
                    if mode is GenerationMode.POSITIVE:
                        raise  # an operation with nothing to negate (GET /health) has no negative data
        assert set(calls) == {operation.label for operation in operations}  # each one was really called


def fuzz(operation: Any, mode: GenerationMode, base: str, headers: dict[str, str], calls: dict[str, int]) -> None:
    """Call ``operation`` with up to :data:`EXAMPLES` generated requests of ``mode``, checking each answer."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=base, headers=headers, checks=CHECKS, timeout=30)
        calls[operation.label] = calls.get(operation.label, 0) + 1

    check()
