"""A stand-in orchestrator, for local use and tests: the whole provisioning loop on one machine.

It plays the orchestrator remit does not own: ``POST /trigger/onboarding`` verifies the trigger's signature
(401 if it does not match), records the payload and answers 202, then — after ``delay`` seconds — calls remit's
callback with ``provisioned``, a deployment id derived from the session id, a cell and the payload's quota,
signed with the callback secret. It can be told to fail: ``fail_status`` answers every trigger with that status
(a 503 outage), ``outcome="failed"`` calls back ``failed``, ``call_back=False`` loses the callback; and to be
slow: ``hold`` seconds before each answer. ``GET /triggers`` reports what it saw — ``attempts`` (every trigger),
``received`` (the accepted payloads, identifiers only, in order), ``callbacks`` (the callbacks' answer statuses)
and ``max_in_flight`` (the most triggers it was answering at once) — so a test can count the triggers a remit
process sent. Run it with ``remit provisioning orchestrator --port …``; tests start it on a loopback port
(``tests/support``) or as that process.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from remit.signing import hex_signature, verify_hex_signature

TRIGGER_PATH = "/trigger/onboarding"
REPORT_PATH = "/triggers"
SIGNATURE_HEADER = "X-Provisioning-Signature"


def deployment_for(session_id: str) -> str:
    """The deployment id the stand-in mints for a session: stable, so a replay links the same one."""
    return "dpl_" + hashlib.sha256(session_id.encode()).hexdigest()[:16]


@dataclass
class StandInOrchestrator:
    trigger_secret: str
    callback_url: str | None
    callback_secret: str | None = None
    delay: float = 0.0
    fail_status: int | None = None
    outcome: str = "provisioned"
    call_back: bool = True
    cell_id: str = "cell-local-1"
    hold: float = 0.0
    #: Every payload accepted, in order (tests count the triggers).
    received: list[dict[str, Any]] = field(default_factory=list)
    #: Every trigger seen, accepted or not.
    attempts: int = 0
    callbacks: list[int] = field(default_factory=list)
    #: Triggers being answered now, and the most at once.
    in_flight: int = 0
    max_in_flight: int = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(TRIGGER_PATH, self._trigger, methods=["POST"]),
                Route(REPORT_PATH, self._report, methods=["GET"]),
            ]
        )

    def report(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "received": list(self.received),
            "callbacks": list(self.callbacks),
            "max_in_flight": self.max_in_flight,
        }

    async def _report(self, _request: Request) -> JSONResponse:
        return JSONResponse(self.report())

    async def _trigger(self, request: Request) -> JSONResponse:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.hold:
                await asyncio.sleep(self.hold)
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: Request) -> JSONResponse:
        body = await request.body()
        self.attempts += 1
        if not verify_hex_signature(body, request.headers.get(SIGNATURE_HEADER), [self.trigger_secret]):
            return JSONResponse({"error": "bad signature"}, status_code=401)
        if self.fail_status is not None:
            return JSONResponse({"error": "unavailable"}, status_code=self.fail_status)
        payload = json.loads(body)
        self.received.append(payload)
        if self.call_back and self.callback_url:
            task = asyncio.create_task(self._call_back(payload))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return JSONResponse({"accepted": True}, status_code=202)

    def callback_body(self, payload: dict[str, Any]) -> bytes:
        session = str(payload["stripe_session_id"])
        document: dict[str, Any] = {"stripe_session_id": session, "status": self.outcome}
        if self.outcome == "provisioned":
            document.update(
                deployment_id=deployment_for(session),
                cell_id=self.cell_id,
                tokens_quota=int(payload.get("tokens_quota") or 0),
            )
        else:
            document["error"] = "stand-in told to fail"
        return json.dumps(document, separators=(",", ":")).encode()

    async def _call_back(self, payload: dict[str, Any]) -> None:
        await asyncio.sleep(self.delay)
        assert self.callback_url is not None
        body = self.callback_body(payload)
        secret = self.callback_secret or self.trigger_secret
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: hex_signature(body, secret)}
        try:
            async with httpx.AsyncClient(timeout=10.0) as client:
                answer = await client.post(self.callback_url, content=body, headers=headers)
            self.callbacks.append(answer.status_code)
        except httpx.HTTPError:
            self.callbacks.append(0)

    async def settle(self) -> None:
        """Wait for the callbacks under way."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


__all__ = ["REPORT_PATH", "TRIGGER_PATH", "StandInOrchestrator", "deployment_for"]
