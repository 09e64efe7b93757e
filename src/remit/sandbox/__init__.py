"""The embedded sandbox's host app: a few host webhook handlers that ``remit up`` runs on the fake processor.

remit is a library a SaaS embeds; what it does beside its own mirror is the host's handlers. A fresh machine
running ``remit up`` has no host, so the sandbox plays a small one — written exactly as a host would write
its own module, through the public :func:`remit.on_event` — and ``remit demo`` shows what operators see of
host handlers, including the dead-letter queue when one of them meets data no retry can fix:
:mod:`remit.sandbox.handlers` declares them, :mod:`remit.sandbox.seats` holds their (pure) rules, and
:data:`PART` is that module collected as a part, exactly as a host's module named in ``REMIT_JOB_MODULES`` is.

Only ``remit up`` composes it into its runtime (:func:`remit.service.service_runtime`), and only when
:func:`applies`: on the fake processor, outside production, and when the host named no modules of its own in
``REMIT_JOB_MODULES`` (then the host app is real and a pretend one beside it would only act on its events).
``remit worker``, ``remit serve`` and library use never compose it; importing it registers nothing.
"""

from __future__ import annotations

from remit.config import Settings
from remit.part import Part, part_from_module
from remit.sandbox import handlers

#: The sandbox host app as a part: its handlers run after remit's own, where a host's would.
PART: Part = part_from_module(handlers)


def applies(settings: Settings) -> bool:
    """Whether ``remit up`` with ``settings`` should play the sandbox host app (pure)."""
    return settings.processor == "fake" and settings.environment != "production" and not settings.job_modules


__all__ = ["PART", "applies"]
