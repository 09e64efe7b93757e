"""The trigger recipes make the calls Stripe CLI's trigger fixtures make, and resolve references like it."""

import json
import re

import pytest

from remit.processor.fake.routes import METHOD_NAMES, resolve
from remit.processor.fake.triggers import ALIASES, RECIPES, recipe, resolve_references, trigger_names
from tests.support.fixtures import STRIPE_FIXTURES, stripe_fixtures

CLI_FIXTURES = stripe_fixtures("stripe-cli-trigger__*.json")
_REF = re.compile(r"\$\{[^}]+\}")


def _mutations(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(METHOD, path with references blanked) of the calls that change something."""
    return [(method.upper(), _REF.sub("{ref}", path)) for method, path in steps if method.upper() != "GET"]


def test_fixtures_are_present():
    assert len(CLI_FIXTURES) >= 40, f"expected the stripe-cli trigger fixtures under {STRIPE_FIXTURES}"


@pytest.mark.parametrize("fixture", CLI_FIXTURES, ids=lambda p: p.stem.split("__", 1)[1])
def test_each_cli_trigger_exists_and_makes_the_same_calls(fixture):
    name = fixture.stem.split("__", 1)[1]
    assert name in trigger_names()
    data = json.loads(fixture.read_text())
    theirs = _mutations([(step["method"], step["path"]) for step in data["fixtures"]])
    ours = _mutations([(step.method, step.path) for step in recipe(name)])
    assert ours == theirs
    for alias in data["_meta"].get("aliases", []):
        assert ALIASES[alias] == name


def test_every_recipe_step_hits_a_route_of_the_fake():
    for name, steps in RECIPES.items():
        for step in steps:
            match = resolve(step.method, _REF.sub("x", step.path))
            assert match.route.name in METHOD_NAMES, (name, step.name)


def test_references_resolve_to_earlier_results_keeping_types():
    results = {"customer": {"id": "cus_1"}, "meters": {"data": [{"event_name": "api_calls"}]}, "n": {"v": 3}}
    value = {
        "customer": "${customer:id}",
        "path": "/v1/customers/${customer:id}/sources",
        "name": "${meters:data.0.event_name}",
        "count": "${n:v}",
        "list": ["${customer:id}"],
    }
    assert resolve_references(value, results) == {
        "customer": "cus_1",
        "path": "/v1/customers/cus_1/sources",
        "name": "api_calls",
        "count": 3,
        "list": ["cus_1"],
    }
    assert len(resolve_references("${generate-uuid}", {})) == 32


def test_unknown_trigger_names_the_known_ones():
    with pytest.raises(KeyError, match=r"invoice\.paid"):
        recipe("invoice.nope")
