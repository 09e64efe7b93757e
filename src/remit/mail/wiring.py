"""How the mail part's event handlers reach a worker, until parts are composed explicitly (issue 7).

Workers import remit's job modules by name (:data:`remit.jobs.builtin.BUILTIN_MODULES`) and call a module's
``install()``: this one puts the part's handlers into the handler registry dispatch reads, after the mirror
and before the host's modules are imported, so they run in the documented order. Nothing registers on import,
so a test or a tool that imports the part changes no registry.
"""

from __future__ import annotations

from remit.mail import HANDLERS
from remit.webhooks.handlers import HandlerRegistry, default_handlers


def install(registry: HandlerRegistry = default_handlers) -> list[str]:
    """Register the part's handlers (again: registering a function twice is harmless); their names."""
    return [registry.register(patterns, func, name=name).name for patterns, func, name in HANDLERS]


__all__ = ["install"]
