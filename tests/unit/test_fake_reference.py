"""docs/processors.md lists exactly the fake's route table (regenerate: python -m remit.processor.fake.reference
docs/processors.md)."""

from pathlib import Path

from remit.processor.fake.reference import markdown, rewrite, section
from remit.processor.fake.routes import NOT_SERVED, ROUTES

DOC = Path(__file__).resolve().parents[2] / "docs" / "processors.md"


def test_the_documented_route_reference_is_the_generated_one():
    assert section(DOC.read_text(encoding="utf-8")) == markdown()


def test_the_reference_names_every_route_and_what_is_not_served():
    text = markdown()
    for route in ROUTES:
        assert f"| {route.http_method} | `{route.path}` | `{route.name}` |" in text
    for _, path, _ in NOT_SERVED:
        assert f"`{path}`" in text
    assert "`items[][price_data]` (refused: not implemented)" in text
    assert "`proration_behavior` (accepted, no effect)" in text


def test_rewriting_replaces_only_the_generated_section():
    document = DOC.read_text(encoding="utf-8")
    stale = document.replace("| GET | `/v1/balance` |", "| GET | `/v1/balance-old` |")
    assert rewrite(stale) == document
