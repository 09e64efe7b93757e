"""The real Stripe payloads the tests replay: the repository's own copy, found one way.

``tests/fixtures/stripe/`` holds them, with ``SOURCES.md`` naming each file's origin and licence. Every test
finds them through :data:`STRIPE_FIXTURES`, relative to this test tree, so a fresh clone needs nothing beside
it. A fixture that is missing is an error at collection, never a skip or an empty parametrization.
"""

from __future__ import annotations

from pathlib import Path

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
