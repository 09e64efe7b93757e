"""``remit golive check`` against a real service: the app on a loopback port with the fake processor's HTTP
face, checked by a runtime whose processor is the live adapter (the official ``stripe`` package) pointed at
it — every line passes, then each one fails on its own, naming its fix. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from click.testing import Result
from typer.testing import CliRunner

from remit.api.app import create_app
from remit.cli import app as cli_app
from remit.config import Settings
from remit.control.stop import stop_all
from remit.control.switches import switch
from remit.golive import Expectations, Line, checklist, key_mode, probe_verdict, secret_problem
from remit.parts import build_runtime, subscribed_event_types
from remit.runtime import Runtime
from remit.webhooks.dead_letters import EventFilter, list_events
from tests.support.servers import serving

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

SECRET = "whsec_Q7vLk2pN9xR4tW8zB3mC6yF1hJ5dS0aG"
TOKEN = "svc_9fK2mQ7xL4pR8tW1zN6vB3cY5hJ0dSaG"


@dataclass
class Served:
    base: str
    service: Runtime


@pytest.fixture
async def served(db_url: str) -> AsyncIterator[Served]:
    """The service as deployed: webhooks and the read API, and the fake processor's HTTP face at /fake."""
    settings = Settings.model_validate(
        {"DATABASE_URL": db_url, "REMIT_ENV": "test", "STRIPE_WEBHOOK_SECRET": SECRET, "REMIT_SERVICE_TOKENS": TOKEN}
    )
    service = build_runtime(settings)
    async with serving(create_app(service)) as base:
        yield Served(base, service)
    await service.close()


def operator_env(served: Served, db_url: str, **overrides: str) -> dict[str, str]:
    """The operator's shell: the live adapter pointed at the fake's HTTP face, the service's secrets."""
    env = {
        "DATABASE_URL": db_url,
        "REMIT_ENV": "test",
        "REMIT_PROCESSOR": "stripe",
        "STRIPE_API_KEY": "sk_test_golive0000000000",
        "STRIPE_API_BASE": f"{served.base}/fake",
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "REMIT_SERVICE_TOKENS": TOKEN,
        "REMIT_URL": served.base,
        "REMIT_FLAGS_REFRESH_SECONDS": "0",
    }
    env.update(overrides)
    return env


@pytest.fixture
async def operator(served: Served, db_url: str) -> AsyncIterator[Runtime]:
    runtime = build_runtime(Settings.model_validate(operator_env(served, db_url)))
    await runtime.processor.create_webhook_endpoint(
        url=f"{served.base}/webhooks/stripe", enabled_events=subscribed_event_types(), idempotency_key="golive-we"
    )
    await switch(runtime, "origin_guard", True, actor="operator:test")
    yield runtime
    await runtime.close()


def expected(served: Served, **changes: object) -> Expectations:
    values: dict[str, object] = {"mode": "test", "origin_guard": True, "base_url": served.base}
    values.update(changes)
    return Expectations(**values)  # type: ignore[arg-type]


def by_name(lines: list[Line]) -> dict[str, Line]:
    return {line.name: line for line in lines}


async def test_every_line_passes_for_a_service_ready_to_go_live(operator: Runtime, served: Served) -> None:
    lines = await checklist(operator, expected(served))
    assert [(line.name, line.ok) for line in lines] == [
        ("database migrated", True),
        ("processor key", True),
        ("webhook endpoint", True),
        ("webhook signing secret", True),
        ("service tokens", True),
        ("billing flag", True),
        ("emergency stop", True),
        ("origin guard", True),
        ("read API", True),
    ], [line for line in lines if not line.ok]
    assert all(line.fix is None for line in lines)


async def test_each_line_fails_on_its_own_naming_its_fix(operator: Runtime, served: Served) -> None:
    lines = by_name(await checklist(operator, expected(served, mode="live", origin_guard=False)))
    assert not lines["processor key"].ok
    assert "test-mode key; this go-live expects live mode" in lines["processor key"].detail
    assert not lines["origin guard"].ok
    assert "flags set origin_guard off" in str(lines["origin guard"].fix)

    await switch(operator, "billing", False, actor="operator:test")
    await stop_all(operator, actor="operator:test")
    lines = by_name(await checklist(operator, expected(served)))
    assert (lines["billing flag"].ok, lines["emergency stop"].ok) == (False, False)
    assert "flags set billing on" in str(lines["billing flag"].fix)
    assert "start --all" in str(lines["emergency stop"].fix)


async def test_a_secret_the_service_does_not_hold_fails_the_probe_and_nothing_is_stored(
    served: Served, db_url: str, operator: Runtime
) -> None:
    other = "whsec_Z1xY2wV3uT4sR5qP6oN7mL8kJ9iH0gFe"
    runtime = build_runtime(Settings.model_validate(operator_env(served, db_url, STRIPE_WEBHOOK_SECRET=other)))
    try:
        lines = by_name(await checklist(runtime, expected(served)))
    finally:
        await runtime.close()
    assert not lines["webhook signing secret"].ok
    assert "signature_invalid" in lines["webhook signing secret"].detail
    assert other not in json.dumps([line.to_json() for line in lines.values()])
    async with operator.db.connect() as conn:
        assert await list_events(conn, EventFilter()) == []  # the probe is verified, then refused: not an event


async def test_a_missing_endpoint_and_a_wrong_token_fail_their_lines(served: Served, db_url: str) -> None:
    env = operator_env(served, db_url, REMIT_SERVICE_TOKENS="svc_another_token_Xq8Lw3Zr5Tn7Vp2Yk4Mh")
    runtime = build_runtime(Settings.model_validate(env))
    try:
        lines = by_name(await checklist(runtime, expected(served)))
    finally:
        await runtime.close()
    assert not lines["webhook endpoint"].ok
    assert "webhooks register --url" in str(lines["webhook endpoint"].fix)
    assert not lines["read API"].ok
    assert "HTTP 401" in lines["read API"].detail


async def test_the_command_exits_0_only_when_every_line_passes(
    operator: Runtime, served: Served, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command runs in a thread of its own (its own event loop), while this loop serves the service."""
    for name, value in operator_env(served, db_url).items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli_app, list(args))

    ready = await asyncio.to_thread(invoke, "golive", "check", "--json")
    assert ready.exit_code == 0, ready.output
    rows = json.loads(ready.stdout)
    assert {row["status"] for row in rows} == {"ok"}
    failing = await asyncio.to_thread(invoke, "golive", "check", "--mode", "live")
    assert failing.exit_code == 1
    assert "FAIL processor key" in failing.stdout
    assert "8/9 passed; not ready to go live" in failing.stdout
    assert TOKEN not in failing.stdout
    assert SECRET not in failing.stdout
    assert (await asyncio.to_thread(invoke, "golive", "check", "--mode", "staging")).exit_code == 2


def test_key_modes_placeholders_and_probe_answers_are_judged_by_pure_rules() -> None:
    assert [key_mode(k) for k in ("sk_live_x", "rk_test_x", "pk_live_x")] == ["live", "test", None]
    assert secret_problem("whsec_remit_fake_development_secret") == "is the fake processor's public development secret"
    assert secret_problem("whsec_placeholder_replace_me_before_launch") == "reads like a placeholder"
    assert secret_problem("whsec_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") is not None
    assert secret_problem("sk_live_abc") == "does not start with whsec_"
    assert secret_problem(SECRET) is None
    assert probe_verdict(400, "not_an_event")[0] is True
    assert probe_verdict(400, "signature_invalid")[0] is False
    assert probe_verdict(200, None)[0] is False  # a service that stored the probe is not the one we expect
