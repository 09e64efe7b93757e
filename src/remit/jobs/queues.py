"""Queue names as the host configured them.

remit's code names queues by their default key (``remit_webhooks``); the host may rename any of them with
``REMIT_QUEUES`` (``remit_webhooks=billing_hooks:20``). :func:`resolve` turns a key into the name stored on
jobs; it is set once at start-up by :func:`configure`.
"""

from __future__ import annotations

from collections.abc import Mapping

from remit.config import DEFAULT_QUEUES, QueueSpec, parse_queues

_specs: dict[str, QueueSpec] = parse_queues("")


def configure(specs: Mapping[str, QueueSpec]) -> None:
    global _specs
    _specs = dict(specs)


def resolve(key: str) -> str:
    """The stored name of queue ``key``; a key nobody configured is its own name."""
    spec = _specs.get(key)
    return spec.name if spec else key


def specs() -> dict[str, QueueSpec]:
    return dict(_specs)


def default_keys() -> list[str]:
    return list(DEFAULT_QUEUES)
