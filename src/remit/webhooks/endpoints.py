"""The webhook endpoints remit serves, each with its own path and signing secrets.

The ``default`` endpoint is ``REMIT_WEBHOOK_PATH`` (``/webhooks/stripe``) checked against
``STRIPE_WEBHOOK_SECRET``; ``REMIT_WEBHOOK_ENDPOINTS`` adds more (a Connect endpoint has its own secret at
Stripe). Each stored event carries the name of the endpoint that received it, so an operator can tell a
platform event from a connected account's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from remit.config import Settings, parse_webhook_endpoints

DEFAULT_ENDPOINT = "default"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A served webhook endpoint. ``secrets`` are tried in order (several during a rotation)."""

    name: str
    path: str
    secrets: tuple[str, ...]

    def __repr__(self) -> str:  # never show secrets, even in a debugger or a traceback
        return f"Endpoint(name={self.name!r}, path={self.path!r}, secrets=<{len(self.secrets)}>)"


def _split(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def resolve_endpoints(settings: Settings, environ: Mapping[str, str] | None = None) -> list[Endpoint]:
    """Every endpoint with its secrets; the extra endpoints' secrets are read from ``environ`` (default: the
    process environment) under the variable each names."""
    env = os.environ if environ is None else environ
    endpoints = [Endpoint(DEFAULT_ENDPOINT, settings.webhook_path, tuple(settings.webhook_secrets))]
    for spec in parse_webhook_endpoints(settings.webhook_endpoints_spec):
        endpoints.append(Endpoint(spec.name, spec.path, _split(env.get(spec.secret_variable, ""))))
    return endpoints


__all__ = ["DEFAULT_ENDPOINT", "Endpoint", "resolve_endpoints"]
