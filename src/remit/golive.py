"""``remit golive check``: the go-live checklist as one command, each line ok or fail with its fix.

The order is the order of a go-live: the schema, the processor key, the webhook endpoint registered at the
processor, the signing secret (real, and accepted by the running service), the service tokens, the billing
flag and the emergency stop, the origin guard, the read API. Each :class:`Line` says what was checked and,
when it failed, the fix — a command that runs as printed where one exists. The command exits 0 only when
every line passed.

Two lines talk to the running service at ``REMIT_URL`` (or ``--url``), as the processor and the services
reading remit will: the webhook probe POSTs a body signed with the first ``STRIPE_WEBHOOK_SECRET`` that is not
an event — a service that verifies the signature then refuses it as ``not_an_event`` (nothing is stored), one
with another secret refuses it as ``signature_invalid`` —, and the read API is asked for one customer with the
first service token. Nothing here prints a secret or a token.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from remit.cli.hints import command
from remit.cli.webhook_endpoints import check_endpoint
from remit.config import FAKE_WEBHOOK_SECRET, service_token_problem
from remit.db import migrate
from remit.errors import ProcessorError
from remit.flags import read_switches
from remit.runtime import Runtime
from remit.signing import stripe_header

#: Each line that talks to something may take this long before it fails.
LINE_TIMEOUT_S = 10.0
LIVE_PREFIXES = ("sk_live_", "rk_live_")
TEST_PREFIXES = ("sk_test_", "rk_test_")
#: Words that mark a webhook secret as a placeholder someone meant to replace.
PLACEHOLDER_WORDS = ("placeholder", "changeme", "change_me", "replace", "example", "dummy", "xxxx", "todo")
MIN_SECRET_LENGTH = 24
MIN_SECRET_DISTINCT = 10


@dataclass(frozen=True, slots=True)
class Line:
    """One checklist item: its name, whether it passed, what was found, and the fix when it did not pass."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"check": self.name, "status": "ok" if self.ok else "fail", "detail": self.detail, "fix": self.fix}


@dataclass(frozen=True, slots=True)
class Expectations:
    """What this go-live expects: the key's mode, the origin guard's state, and the public URL of remit."""

    mode: str  # "live" or "test"
    origin_guard: bool
    base_url: str

    def webhook_url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def read_api_url(self) -> str:
        return self.base_url.rstrip("/") + "/api/v1/billing/customers?limit=1"


# --- pure judgements ----------------------------------------------------------------------------------------


def key_mode(key: str) -> str | None:
    """``live`` or ``test`` from a Stripe secret or restricted key's prefix, else None (pure)."""
    if key.startswith(LIVE_PREFIXES):
        return "live"
    if key.startswith(TEST_PREFIXES):
        return "test"
    return None


def secret_problem(secret: str) -> str | None:
    """Why ``secret`` looks like a placeholder rather than an endpoint's signing secret, or None (pure).

    Never quotes the secret."""
    if secret == FAKE_WEBHOOK_SECRET:
        return "is the fake processor's public development secret"
    if not secret.startswith("whsec_"):
        return "does not start with whsec_"
    body = secret.removeprefix("whsec_")
    if any(word in body.lower() for word in PLACEHOLDER_WORDS):
        return "reads like a placeholder"
    if len(body) < MIN_SECRET_LENGTH or len(set(body)) < MIN_SECRET_DISTINCT:
        return "is too short or too regular to be one the processor generated"
    return None


def probe_verdict(status: int, code: str | None) -> tuple[bool, str]:
    """Whether the service accepted the probe's signature, from its answer (pure)."""
    if status == 400 and code in ("not_an_event", "invalid_json"):
        return True, "the service verified a delivery signed with STRIPE_WEBHOOK_SECRET (and stored nothing)"
    if status == 400 and code is not None and code.startswith("signature_"):
        return False, f"the service refused a delivery signed with STRIPE_WEBHOOK_SECRET ({code})"
    return False, f"unexpected answer to the signed probe: HTTP {status} {code or ''}".rstrip()


# --- the lines ----------------------------------------------------------------------------------------------


async def migrated_line(runtime: Runtime) -> Line:
    current = await asyncio.to_thread(migrate.current_revision, runtime.db.sync_engine)
    head = migrate.head_revision()
    if current == head:
        return Line("database migrated", True, f"at head ({head})")
    return Line("database migrated", False, f"at {current or 'base'}, head is {head}", f"`{command('migrate')}`")


async def processor_key_line(runtime: Runtime, expected: Expectations) -> Line:
    settings = runtime.settings
    name = "processor key"
    if settings.processor != "stripe" or not settings.stripe_api_key:
        return Line(
            name, False, f"the processor is {settings.processor}", "set REMIT_PROCESSOR=stripe and STRIPE_API_KEY"
        )
    mode = key_mode(settings.stripe_api_key)
    if mode is None:
        return Line(name, False, "STRIPE_API_KEY is not a secret (sk_) or restricted (rk_) key", "set STRIPE_API_KEY")
    if mode != expected.mode:
        return Line(
            name,
            False,
            f"STRIPE_API_KEY is a {mode}-mode key; this go-live expects {expected.mode} mode",
            f"set STRIPE_API_KEY to the {expected.mode}-mode key (or pass --mode {mode})",
        )
    try:
        await runtime.processor.ping()
    except ProcessorError as exc:
        status = f"HTTP {exc.status_code}" if exc.status_code else "no answer"
        return Line(name, False, f"the processor refused or did not answer ({status})", "check STRIPE_API_KEY")
    return Line(name, True, f"valid {mode}-mode key")


async def endpoint_line(runtime: Runtime, expected: Expectations) -> Line:
    name = "webhook endpoint"
    url = expected.webhook_url(runtime.settings.webhook_path)
    result = await check_endpoint(runtime.processor, url, list(runtime.settings.stripe_webhook_secret))
    problems = [problem for problem in result.problems if "STRIPE_WEBHOOK_SECRET" not in problem]
    if problems:
        fix = (
            f"`{command('webhooks register --url', url)}`"
            if result.endpoint_id is None
            else (
                f"update endpoint {result.endpoint_id}'s events in the processor's dashboard, or delete it and "
                f"`{command('webhooks register --url', url)}`"
            )
        )
        return Line(name, False, "; ".join(problems), fix)
    return Line(name, True, f"endpoint {result.endpoint_id} at {url} with exactly remit's event types")


async def secret_line(runtime: Runtime, expected: Expectations, client: httpx.AsyncClient) -> Line:
    name = "webhook signing secret"
    secrets = list(runtime.settings.stripe_webhook_secret)
    if not secrets:
        return Line(name, False, "STRIPE_WEBHOOK_SECRET is not set", "set it to the registered endpoint's secret")
    for position, secret in enumerate(secrets, start=1):
        problem = secret_problem(secret)
        if problem is not None:
            return Line(
                name,
                False,
                f"STRIPE_WEBHOOK_SECRET item {position} {problem}",
                "set it to the secret the processor showed when the endpoint was registered",
            )
    url = expected.webhook_url(runtime.settings.webhook_path)
    body = f'{{"object":"remit.golive_probe","id":"probe_{uuid.uuid4().hex}"}}'
    header = stripe_header(body, secrets[0], int(runtime.clock.now().timestamp()))
    try:
        response = await client.post(
            url, content=body, headers={"Stripe-Signature": header, "Content-Type": "application/json"}
        )
    except httpx.HTTPError as exc:
        return Line(name, False, f"{url} not reachable ({type(exc).__name__})", "start remit, or pass --url")
    code = _error_code(response)
    ok, detail = probe_verdict(response.status_code, code)
    fix = None if ok else "give every remit process the same STRIPE_WEBHOOK_SECRET as this shell, newest first"
    return Line(name, ok, detail, fix)


def service_tokens_line(runtime: Runtime) -> Line:
    name = "service tokens"
    tokens = runtime.settings.service_tokens
    if not tokens:
        return Line(name, False, "REMIT_SERVICE_TOKENS is not set", "set REMIT_SERVICE_TOKENS (32+ random characters)")
    weak = [f"token {n} {problem}" for n, token in enumerate(tokens, 1) if (problem := service_token_problem(token))]
    if weak:
        return Line(
            name, False, "; ".join(weak), "replace them: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return Line(name, True, f"{len(tokens)} token(s) set")


async def flag_lines(runtime: Runtime, expected: Expectations) -> list[Line]:
    async with runtime.db.read() as conn:
        switches = await read_switches(conn, runtime.settings)
    billing = (
        Line("billing flag", True, "on")
        if switches.billing
        else Line("billing flag", False, "off: webhook events are held", f"`{command('flags set billing on')}`")
    )
    stop = (
        Line("emergency stop", True, "none in force")
        if switches.stop is None
        else Line(
            "emergency stop",
            False,
            f"in force since {switches.stop.since.isoformat()} by {switches.stop.by}",
            f"`{command('start --all')}`",
        )
    )
    state = "on" if switches.origin_guard else "off"
    wanted = "on" if expected.origin_guard else "off"
    if switches.origin_guard == expected.origin_guard:
        guard = Line("origin guard", True, state)
    else:
        guard = Line(
            "origin guard",
            False,
            f"{state}, expected {wanted}",
            f"`{command('flags set origin_guard', wanted)}` (or pass --origin-guard {state})",
        )
    return [billing, stop, guard]


async def read_api_line(runtime: Runtime, expected: Expectations, client: httpx.AsyncClient) -> Line:
    name = "read API"
    tokens = runtime.settings.service_tokens
    url = expected.read_api_url()
    if not tokens:
        return Line(name, False, "no service token to ask it with", "set REMIT_SERVICE_TOKENS")
    try:
        response = await client.get(url, headers={"Authorization": f"Bearer {tokens[0]}"})
    except httpx.HTTPError as exc:
        return Line(name, False, f"{url} not reachable ({type(exc).__name__})", "start remit, or pass --url")
    if response.status_code == 200:
        return Line(name, True, f"{url} answered 200")
    return Line(
        name,
        False,
        f"{url} answered HTTP {response.status_code} {_error_code(response) or ''}".rstrip(),
        "give every remit process the same REMIT_SERVICE_TOKENS as this shell",
    )


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return str(code) if code is not None else None


async def _bounded(name: str, step: Callable[[], Awaitable[Line]]) -> Line:
    try:
        return await asyncio.wait_for(step(), timeout=LINE_TIMEOUT_S)
    except TimeoutError:
        return Line(name, False, f"no answer within {LINE_TIMEOUT_S:g}s")
    except Exception as exc:  # a checklist reports what broke instead of crashing on it
        return Line(name, False, f"{type(exc).__name__} while checking")


async def checklist(runtime: Runtime, expected: Expectations) -> list[Line]:
    """Every line of the go-live checklist, in order (never raises for what it checks)."""
    lines = [await _bounded("database migrated", lambda: migrated_line(runtime))]
    lines.append(await _bounded("processor key", lambda: processor_key_line(runtime, expected)))
    lines.append(await _bounded("webhook endpoint", lambda: endpoint_line(runtime, expected)))
    async with httpx.AsyncClient(timeout=LINE_TIMEOUT_S, follow_redirects=False) as client:
        lines.append(await _bounded("webhook signing secret", lambda: secret_line(runtime, expected, client)))
        lines.append(service_tokens_line(runtime))
        try:
            lines.extend(await asyncio.wait_for(flag_lines(runtime, expected), timeout=LINE_TIMEOUT_S))
        except Exception as exc:
            lines.append(Line("flags", False, f"{type(exc).__name__} while reading them"))
        lines.append(await _bounded("read API", lambda: read_api_line(runtime, expected, client)))
    return lines


__all__ = [
    "Expectations",
    "Line",
    "checklist",
    "key_mode",
    "probe_verdict",
    "secret_problem",
]
