"""The embedded sandbox's host app: a few host webhook handlers that ``remit up`` runs on the fake processor.

remit is a library a SaaS embeds; what it does beside its own mirror is the host's handlers. A fresh machine
running ``remit up`` has no host, so the sandbox plays a small one — written exactly as a host would write
its own module, through the public :func:`remit.on_event` — and ``remit demo`` shows what operators see of
host handlers, including the dead-letter queue when one of them meets data no retry can fix:
:mod:`remit.sandbox.handlers` registers them, :mod:`remit.sandbox.seats` holds their (pure) rules.

Only ``remit up`` loads it (:func:`remit.service.default_worker`), and only when :func:`applies`: on the fake
processor, outside production, and when the host named no modules of its own in ``REMIT_JOB_MODULES`` (then
the host app is real and a pretend one beside it would only act on its events). ``remit worker``, ``remit
serve`` and library use never import it.
"""

from __future__ import annotations

import importlib
import logging

from remit.config import Settings
from remit.webhooks.handlers import HandlerRegistry, default_handlers

log = logging.getLogger("remit.sandbox")

#: The modules that make up the sandbox's host app, imported in this order.
SANDBOX_MODULES: tuple[str, ...] = ("remit.sandbox.handlers",)


def applies(settings: Settings) -> bool:
    """Whether ``remit up`` with ``settings`` should play the sandbox host app (pure)."""
    return settings.processor == "fake" and settings.environment != "production" and not settings.job_modules


def load(registry: HandlerRegistry = default_handlers) -> list[str]:
    """Import the sandbox modules (their ``@on_event`` handlers register on import); the handler names.

    Registering a handler again with the same function is harmless, so each module's ``HANDLERS`` are put
    into ``registry`` here too: a test that restored the registry after an earlier load gets them back
    although the import itself is cached.
    """
    names: list[str] = []
    for module_name in SANDBOX_MODULES:
        module = importlib.import_module(module_name)
        for patterns, func, name in getattr(module, "HANDLERS", ()):
            names.append(registry.register(patterns, func, name=name).name)
    log.info("sandbox host handlers loaded", extra={"handlers": names})
    return names


__all__ = ["SANDBOX_MODULES", "applies", "load"]
