"""The origin guard as pure ASGI middleware: while the ``origin_guard`` flag is on, a request that did not come
through the trusted proxy is refused with 403 ``origin_refused`` (see :mod:`remit.guard.origin` for what
counts as coming through it).

The flag is read from the process's :class:`~remit.flags.FlagCache` (one small query every
``REMIT_FLAGS_REFRESH_SECONDS``), so ``remit flags set origin_guard on`` reaches every process within seconds.
When the flags cannot be read (the database went away) the last value read stands, and before any was read
the guard is enforced: refusing a request that may be legitimate is better than letting one past the proxy.
Exempt paths (``/health`` by default) are decided before the flag is asked, so a probe costs no query.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from remit.api.errors import error_response
from remit.flags import FlagCache
from remit.guard.origin import OriginPolicy, parse_networks
from remit.runtime import Runtime

log = logging.getLogger("remit.api.origin")


def policy_for(runtime: Runtime) -> OriginPolicy:
    settings = runtime.settings
    return OriginPolicy(
        settings.origin_header.lower(), parse_networks(settings.origin_allow), frozenset(settings.origin_exempt)
    )


async def guard_on(flags: FlagCache) -> bool:
    """The ``origin_guard`` flag now; the last known value when the database cannot be asked, else on."""
    try:
        return (await flags.switches()).origin_guard
    except Exception as exc:
        known = flags.last_known
        log.warning("origin guard: flags unreadable, last known value used", extra={"error_type": type(exc).__name__})
        return known.origin_guard if known is not None else True


class OriginGuardMiddleware:
    """Refuse requests that skipped the trusted proxy while the guard is on (see the module docs)."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        self.policy = policy_for(runtime)
        self._header = self.policy.header.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.policy.exempt:
            await self.app(scope, receive, send)
            return
        has_header = any(name == self._header and value.strip() for name, value in scope.get("headers", ()))
        client = scope.get("client")
        peer = client[0] if client else None
        if self.policy.admits(path=scope["path"], peer=peer, has_header=has_header) or not await guard_on(
            self.runtime.flags
        ):
            await self.app(scope, receive, send)
            return
        response = error_response(
            403,
            "origin_refused",
            "requests must come through the trusted proxy",
            type="invalid_request_error",
        )
        await response(scope, receive, send)


__all__ = ["OriginGuardMiddleware", "guard_on", "policy_for"]
