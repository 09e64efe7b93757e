"""Webhook endpoints: REMIT_WEBHOOK_ENDPOINTS parsing, secrets per endpoint, start-up validation."""

from __future__ import annotations

import pytest

from remit.config import Settings, load_settings, parse_webhook_endpoints
from remit.errors import ConfigurationError
from remit.webhooks.endpoints import resolve_endpoints


def test_parse_items() -> None:
    specs = parse_webhook_endpoints(" connect=/webhooks/stripe-connect:CONNECT_SECRET , b=/b:B_SECRET,")
    assert [(s.name, s.path, s.secret_variable) for s in specs] == [
        ("connect", "/webhooks/stripe-connect", "CONNECT_SECRET"),
        ("b", "/b", "B_SECRET"),
    ]
    assert parse_webhook_endpoints("") == []


@pytest.mark.parametrize(
    "spec",
    [
        "connect",
        "connect=/x",
        "connect=x:S",
        "=/x:S",
        "default=/x:S",
        "a=/x:S,a=/y:T",
        "a=/x:S,b=/x:T",
        "a=/x:NOT-A-VAR",
    ],
)
def test_bad_items_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_webhook_endpoints(spec)


def test_endpoints_resolve_their_secrets_from_the_named_variables() -> None:
    settings = Settings.model_validate(
        {"STRIPE_WEBHOOK_SECRET": "whsec_a, whsec_b", "REMIT_WEBHOOK_ENDPOINTS": "connect=/c:C_SECRETS"}
    )
    default, connect = resolve_endpoints(settings, {"C_SECRETS": "whsec_c1,whsec_c2"})
    assert (default.name, default.path, default.secrets) == ("default", "/webhooks/stripe", ("whsec_a", "whsec_b"))
    assert (connect.name, connect.path, connect.secrets) == ("connect", "/c", ("whsec_c1", "whsec_c2"))
    assert "whsec" not in repr(connect)


def test_start_up_names_a_missing_endpoint_secret_without_values() -> None:
    with pytest.raises(ConfigurationError) as error:
        load_settings({"REMIT_WEBHOOK_ENDPOINTS": "connect=/c:C_SECRETS", "STRIPE_WEBHOOK_SECRET": "whsec_x"})
    assert any("C_SECRETS" in problem for problem in error.value.problems)
    assert "whsec_x" not in str(error.value)
    ok = load_settings({"REMIT_WEBHOOK_ENDPOINTS": "connect=/c:C_SECRETS", "C_SECRETS": "whsec_y"})
    assert ok.webhook_endpoints_spec


def test_a_malformed_spec_is_a_configuration_problem() -> None:
    with pytest.raises(ConfigurationError) as error:
        load_settings({"REMIT_WEBHOOK_ENDPOINTS": "nonsense"})
    assert any("REMIT_WEBHOOK_ENDPOINTS" in problem for problem in error.value.problems)
