"""The real Stripe payloads the tests replay: the repository's own copy, found one way.

``tests/fixtures/stripe/`` holds them, with ``SOURCES.md`` naming each file's origin and licence. Every test
finds them through :data:`STRIPE_FIXTURES`, relative to this test tree, so a fresh clone needs nothing beside
it. A fixture that is missing is an error at collection, never a skip or an empty parametrization.

:func:`fixture_events` turns the payloads into events, each with an id of its own (many files share placeholder
ids like ``evt_00000000000000``):

- whole event envelopes are taken as they are;
- files holding only an event's ``data`` member are wrapped in an envelope of the type their name gives;
- bare API objects are wrapped as ``<object>.updated`` events, as if Stripe had sent them in an update;
- ``stripe-openapi__fixtures3.json`` gives one example per resource, wrapped the same way;
- ``stripe-cli-trigger__*`` files are recipes of API calls, not payloads, and give no event.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

STRIPE_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "stripe"


def stripe_fixture(name: str) -> Path:
    """The fixture file ``name`` (e.g. ``stripe-ruby-mock__invoice.paid.json``); raises if it is not there."""
    path = STRIPE_FIXTURES / name
    if not path.is_file():
        raise FileNotFoundError(f"Stripe fixture {name} is missing from {STRIPE_FIXTURES}")
    return path


def stripe_fixtures(pattern: str = "*.json") -> list[Path]:
    """The fixture files matching ``pattern``, sorted; raises if none does."""
    found = sorted(STRIPE_FIXTURES.glob(pattern))
    if not found:
        raise FileNotFoundError(f"no Stripe fixture matches {pattern!r} in {STRIPE_FIXTURES}")
    return found


#: A creation time for payloads that carry none (pay's data members).
DEFAULT_CREATED = 1_700_000_000


def _event_type_from_name(name: str) -> str:
    event_type = name.split("__", 1)[1].removesuffix(".json")
    # pay names subscription events without Stripe's "customer." prefix.
    return f"customer.{event_type}" if event_type.startswith("subscription.") else event_type


def _wrap(event_type: str, data: dict[str, Any], created: Any) -> dict[str, Any]:
    return {
        "object": "event",
        "type": event_type,
        "livemode": False,
        "created": created if isinstance(created, int) else DEFAULT_CREATED,
        "data": data,
    }


def _file_events(path: Path) -> Iterator[dict[str, Any]]:
    payload = json.loads(path.read_text())
    if path.name.startswith("stripe-openapi__"):
        for resource in payload["resources"].values():
            if isinstance(resource, dict) and isinstance(resource.get("object"), str):
                yield _wrap(f"{resource['object']}.updated", {"object": resource}, resource.get("created"))
    elif isinstance(payload, dict) and payload.get("object") == "event":
        yield dict(payload)
    elif (
        isinstance(payload, dict)
        and isinstance(payload.get("object"), dict)
        and set(payload) <= {"object", "previous_attributes"}
    ):
        yield _wrap(_event_type_from_name(path.name), payload, payload["object"].get("created"))
    else:
        kind = payload.get("object") if isinstance(payload, dict) else None
        created = payload.get("created") if isinstance(payload, dict) else None
        yield _wrap(f"{kind}.updated", {"object": payload}, created)


def fixture_events() -> list[tuple[str, dict[str, Any]]]:
    """``(file name, event)`` for every payload in the fixtures, each event with its own id."""
    found: list[tuple[str, dict[str, Any]]] = []
    for path in stripe_fixtures():
        if path.name.startswith("stripe-cli-trigger__"):
            continue
        for event in _file_events(path):
            event["id"] = f"evt_fixture_{len(found):04d}"
            found.append((path.name, event))
    return found
