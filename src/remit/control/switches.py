"""Switching a runtime flag as an operator does it: one audited write, then what the switch sets in motion.

:func:`switch` is what ``remit flags set`` (and the admin page) call: the row and its audit line commit
together (:func:`remit.flags.set_flag`); then, for ``billing``, the ops event ``billing_switched`` goes out —
only once the change is durable, and only when the value changed — and switching billing back on releases
the events held meanwhile instead of waiting for the periodic release.
"""

from __future__ import annotations

from dataclasses import dataclass

from remit.flags import BILLING, FlagChange, set_flag
from remit.runtime import Runtime
from remit.telemetry import ops
from remit.webhooks.held import release_held


@dataclass(frozen=True, slots=True)
class Switched:
    """What :func:`switch` did: the change, and how many held events it released (billing switched on)."""

    change: FlagChange
    released: int = 0


async def switch(runtime: Runtime, name: str, enabled: bool, *, actor: str) -> Switched:
    """Set flag ``name`` to ``enabled`` for every process (they see it within ``REMIT_FLAGS_REFRESH_SECONDS``)."""
    async with runtime.db.begin() as conn:
        change = await set_flag(conn, runtime.settings, name, enabled, actor=actor, at=runtime.clock.now())
    runtime.flags.invalidate()
    released = 0
    if name == BILLING and change.changed:
        ops.emit("billing_switched", enabled=enabled, previous=change.before.enabled, actor=actor)
    if name == BILLING and enabled:
        released = await release_held(runtime)
    return Switched(change, released)


__all__ = ["Switched", "switch"]
