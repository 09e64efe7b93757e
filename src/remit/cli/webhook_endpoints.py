"""``remit webhooks register`` and ``remit webhooks check``: the processor's side of remit's webhook endpoint.

``register --url URL`` creates an endpoint at the processor subscribed to exactly the event types remit
handles (:func:`remit.parts.subscribed_event_types`: what the mirror projects and what remit's parts' handlers
name, such as Connect's ``account.updated``) and shows its new signing secret once, saying
where it goes (``STRIPE_WEBHOOK_SECRET``, comma-separated during a rotation). The secret goes to the terminal
(stderr with ``--json``) or to a file with ``--secret-file``, never to a log.

``check`` verifies that the endpoint for remit's URL exists, is enabled, listens to exactly the handled types,
and (for the fake, whose secrets can be read back) that the configured secret is the endpoint's; it exits 1
naming every problem. Stripe never returns a secret after creation, so for Stripe the secret check is limited
to one being configured.

The coordinator wires :func:`register_command` and :func:`check_command` into the ``webhooks`` group.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from remit.cli.hints import command
from remit.cli.output import dumps, fail, run_with_runtime
from remit.errors import ProcessorError
from remit.parts import subscribed_event_types
from remit.processor import webhook_url
from remit.processor.base import API_VERSION, Processor, StripeObject
from remit.processor.fake.processor import FakeProcessor
from remit.runtime import Runtime

SECRET_VARIABLE = "STRIPE_WEBHOOK_SECRET"  # noqa: S105 - the name of the variable, not a secret
DESCRIPTION = "remit"


@dataclass
class CheckResult:
    """The outcome of ``webhooks check``: every problem found, and what was looked at."""

    url: str
    endpoint_id: str | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def compare_events(enabled: list[str], handled: list[str]) -> list[str]:
    """Problems with an endpoint's ``enabled_events`` against the handled set (pure)."""
    problems = []
    if "*" in enabled:
        problems.append("the endpoint receives every event type ('*'), not just the ones remit handles")
    missing = sorted(set(handled) - set(enabled))
    extra = sorted(set(enabled) - set(handled) - {"*"})
    if missing and "*" not in enabled:
        problems.append(f"{len(missing)} handled event type(s) not enabled: {', '.join(missing)}")
    if extra:
        problems.append(f"{len(extra)} enabled event type(s) remit does not handle: {', '.join(extra)}")
    return problems


def endpoints_for(endpoints: list[StripeObject], url: str) -> list[StripeObject]:
    return [e for e in endpoints if str(e.get("url", "")).rstrip("/") == url.rstrip("/")]


async def check_endpoint(processor: Processor, url: str, configured: list[str]) -> CheckResult:
    """Compare the processor's endpoint for ``url`` with remit's handled types and configured secrets."""
    result = CheckResult(url)
    matches = endpoints_for(await processor.list_webhook_endpoints(), url)
    if not matches:
        result.problems.append(
            f"no webhook endpoint is registered for {url}; run `{command('webhooks register --url', url)}`"
        )
        return result
    if len(matches) > 1:
        ids = ", ".join(str(e["id"]) for e in matches)
        result.problems.append(
            f"{len(matches)} endpoints are registered for {url} ({ids}): each event would "
            "arrive more than once; delete all but one"
        )
    endpoint = matches[0]
    result.endpoint_id = str(endpoint["id"])
    if endpoint.get("status") != "enabled":
        result.problems.append(f"endpoint {endpoint['id']} is {endpoint.get('status')}")
    result.problems.extend(compare_events(list(endpoint.get("enabled_events") or []), subscribed_event_types()))
    if not configured:
        result.problems.append(f"{SECRET_VARIABLE} is not set")
    elif isinstance(processor, FakeProcessor):
        secret = await processor.engine.endpoint_secret(result.endpoint_id)
        if secret not in configured:
            result.problems.append(f"{SECRET_VARIABLE} does not contain endpoint {endpoint['id']}'s signing secret")
    else:
        result.notes.append(
            "Stripe does not return an endpoint's secret after creation; check that "
            f"{SECRET_VARIABLE} holds the one shown at registration"
        )
    if endpoint.get("api_version") not in (None, API_VERSION):
        result.notes.append(f"endpoint api_version {endpoint.get('api_version')} differs from {API_VERSION}")
    return result


def processor_of(runtime: Runtime) -> Processor:
    """The runtime's processor (the runtime closes it)."""
    if runtime.processor is None:
        raise ProcessorError("no processor is configured (REMIT_PROCESSOR)")
    return runtime.processor


def register_command(
    url: Annotated[str, typer.Option("--url", help="The public URL of remit's webhook endpoint.")],
    secret_file: Annotated[
        Path | None,
        typer.Option("--secret-file", help="Write the new secret to this file (mode 600) instead of printing it."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Register even if an endpoint has this URL.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the endpoint (without its secret) as JSON.")] = False,
) -> None:
    """Create the webhook endpoint at the processor with exactly the event types remit handles."""

    async def main(runtime: Runtime) -> tuple[StripeObject, str]:
        processor = processor_of(runtime)
        try:
            existing = endpoints_for(await processor.list_webhook_endpoints(), url)
            if existing and not force:
                fail(
                    f"endpoint {existing[0]['id']} is already registered for {url}; "
                    f"`{command('webhooks check')}` verifies it (--force registers another)"
                )
            endpoint = await processor.create_webhook_endpoint(
                url=url,
                enabled_events=subscribed_event_types(),
                description=DESCRIPTION,
                api_version=API_VERSION,
                idempotency_key=f"remit-register-{uuid.uuid4().hex}",
            )
        except ProcessorError as exc:
            fail(f"the processor refused: {exc}")
        secret = str(endpoint.get("secret") or "")
        return {k: v for k, v in endpoint.items() if k != "secret"}, secret

    endpoint, secret = run_with_runtime(main)
    console = Console(stderr=as_json)
    if as_json:
        typer.echo(dumps(endpoint))
    else:
        console.print(
            f"registered endpoint [bold]{endpoint['id']}[/bold] for {url} "
            f"({len(endpoint.get('enabled_events') or [])} event types)",
            highlight=False,
        )
    if not secret:
        console.print("the processor returned no signing secret; look it up in its dashboard", style="yellow")
        return
    if secret_file is not None:
        _write_secret(secret_file, secret)
        where = f"was written to {secret_file}"
    else:
        console.print(f"{SECRET_VARIABLE}={secret}", highlight=False, soft_wrap=True)
        where = "is printed above, this once"
    console.print(
        f"The endpoint's signing secret {where}. Set it as {SECRET_VARIABLE} for every remit process; "
        f"while rotating, list the new one first and keep the old one: {SECRET_VARIABLE}=<new>,<old>. "
        f"Then run `{command('webhooks check --url', url)}`.",
        highlight=False,
        soft_wrap=True,
    )


def _write_secret(path: Path, secret: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")


def check_command(
    url: Annotated[
        str | None, typer.Option("--url", help="The endpoint URL to check (default: REMIT_URL + REMIT_WEBHOOK_PATH).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Verify that the registered endpoint, its event types and the configured secret agree; exit 1 if not."""

    async def main(runtime: Runtime) -> CheckResult:
        target = url or webhook_url(runtime.settings)
        try:
            return await check_endpoint(processor_of(runtime), target, list(runtime.settings.stripe_webhook_secret))
        except ProcessorError as exc:
            fail(f"could not list the processor's webhook endpoints: {exc}")

    result = run_with_runtime(main)
    report: dict[str, Any] = {
        "ok": result.ok,
        "url": result.url,
        "endpoint": result.endpoint_id,
        "problems": result.problems,
        "notes": result.notes,
    }
    if as_json:
        typer.echo(dumps(report))
    else:
        console = Console()
        for note in result.notes:
            console.print(f"note: {note}", highlight=False, soft_wrap=True)
        if result.ok:
            console.print(
                f"[green]ok[/green]: endpoint {result.endpoint_id} for {result.url} agrees with remit", highlight=False
            )
    if not result.ok:
        fail("; ".join(result.problems))


__all__ = ["CheckResult", "check_command", "check_endpoint", "compare_events", "register_command"]
