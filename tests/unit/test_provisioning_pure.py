"""The provisioning part's pure functions: what a checkout owes (``decide``), an answer's outcome (``classify``),
the callback body (``parse_callback``), the packages configuration (``parse_packages``/``load_packages``), and
the start-up refusal of a bad ``REMIT_PACKAGES``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from remit.billing.packages import DEMO_PACKAGES, Package, load_packages, parse_packages
from remit.cli import app
from remit.errors import ConfigurationError
from remit.provisioning.callback import MalformedCallback, parse_callback
from remit.provisioning.handoff import ORIGIN_EXTERNAL, ORIGIN_REMIT, decide, is_paid
from remit.provisioning.states import ProvisioningStatus
from remit.provisioning.trigger import HTTP_4XX, HTTP_5XX, body_of, classify

STARTER = Package("starter", "price_starter", 100_000, "Starter")


def session(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": "cs_test_1",
        "customer": "cus_1",
        "payment_status": "paid",
        "customer_details": {"email": "jenny@example.com", "name": "Jenny Rosen"},
        "metadata": {"remit_account_id": "acct_1", "remit_package": "starter"},
    }
    document.update(overrides)
    return document


# --- decide / is_paid --------------------------------------------------------------------------------------


def test_a_remit_checkout_owes_the_exact_payload_with_identifiers_and_quota_only() -> None:
    handoff = decide(session(), STARTER, slug_asked="starter")
    assert handoff.origin == ORIGIN_REMIT
    assert handoff.error is None
    assert handoff.payload == {
        "stripe_session_id": "cs_test_1",
        "account_id": "acct_1",
        "package_slug": "starter",
        "tokens_quota": 100_000,
        "customer_id": "cus_1",
    }
    assert "jenny" not in json.dumps(handoff.payload).lower()


def test_a_checkout_made_outside_remit_is_provisioned_for_its_customer_and_says_so() -> None:
    handoff = decide(session(metadata={}), STARTER, slug_asked=None)
    assert handoff.origin == ORIGIN_EXTERNAL
    assert handoff.account_id == "cus_1"
    assert handoff.payload is not None
    assert handoff.payload["account_id"] == "cus_1"


@pytest.mark.parametrize(
    ("metadata", "slug", "reason"),
    [
        ({"remit_account_id": "acct_1", "remit_package": "gold"}, "gold", "package_unknown"),
        ({}, None, "package_unresolved"),
    ],
)
def test_no_package_means_no_payload_and_the_reason_never_a_guess(
    metadata: dict[str, str], slug: str | None, reason: str
) -> None:
    handoff = decide(session(metadata=metadata), None, slug_asked=slug)
    assert handoff.payload is None
    assert handoff.error is not None
    assert handoff.error.startswith(reason)


def test_no_account_and_no_customer_means_no_payload() -> None:
    handoff = decide(session(metadata={}, customer=None), STARTER, slug_asked=None)
    assert handoff.payload is None
    assert handoff.error is not None
    assert handoff.error.startswith("account_unresolved")


@pytest.mark.parametrize(
    ("event_type", "payment_status", "paid"),
    [
        ("checkout.session.completed", "paid", True),
        ("checkout.session.completed", "no_payment_required", True),
        ("checkout.session.completed", "unpaid", False),
        ("checkout.session.async_payment_succeeded", "unpaid", True),
        ("checkout.session.async_payment_failed", "unpaid", False),
    ],
)
def test_only_a_settled_session_is_paid(event_type: str, payment_status: str, paid: bool) -> None:
    assert is_paid(event_type, session(payment_status=payment_status)) is paid


# --- classify / body_of ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, None),
        (202, None),
        (299, None),
        (400, HTTP_4XX),
        (404, HTTP_4XX),
        (499, HTTP_4XX),
        (500, HTTP_5XX),
        (503, HTTP_5XX),
        (302, HTTP_5XX),
        (101, HTTP_5XX),
    ],
)
def test_classify_names_every_answer(status: int, outcome: str | None) -> None:
    assert classify(status) == outcome


def test_the_trigger_body_is_the_same_bytes_whatever_the_key_order() -> None:
    assert body_of({"b": 1, "a": "x"}) == body_of({"a": "x", "b": 1}) == b'{"a":"x","b":1}'


# --- parse_callback ----------------------------------------------------------------------------------------


def test_a_provisioned_callback_is_read_whole() -> None:
    body = {"stripe_session_id": "cs_1", "status": "provisioned", "deployment_id": "dpl_1", "cell_id": "c1"}
    update = parse_callback(json.dumps(body | {"tokens_quota": 5}).encode())
    assert update.status is ProvisioningStatus.PROVISIONED
    assert (update.deployment_id, update.cell_id, update.tokens_quota) == ("dpl_1", "c1", 5)
    assert parse_callback(json.dumps(body | {"tokens_quota": None}).encode()).tokens_quota == 0


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"not json", "JSON"),
        (b"[1]", "object"),
        (b'{"status": "failed"}', "stripe_session_id"),
        (b'{"stripe_session_id": "cs_1", "status": "done"}', "status"),
        (b'{"stripe_session_id": "cs_1", "status": "failed", "tokens_quota": -1}', "tokens_quota"),
        (b'{"stripe_session_id": "cs_1", "status": "failed", "tokens_quota": true}', "tokens_quota"),
        (b'{"stripe_session_id": "cs_1", "status": "provisioned"}', "deployment_id"),
        (b'{"stripe_session_id": 7, "status": "failed"}', "stripe_session_id"),
        (b'{"stripe_session_id": "' + b"x" * 256 + b'", "status": "failed"}', "stripe_session_id"),
    ],
)
def test_a_malformed_callback_names_the_field(raw: bytes, field: str) -> None:
    with pytest.raises(MalformedCallback, match=field):
        parse_callback(raw)


# --- packages ----------------------------------------------------------------------------------------------


def test_packages_parse_and_default_to_the_demo_ones_on_the_fake_only() -> None:
    parsed = parse_packages({"starter": {"price": "price_1", "tokens_quota": 10, "name": "Starter"}})
    assert parsed == {"starter": Package("starter", "price_1", 10, "Starter")}
    assert load_packages(None, processor="fake") == DEMO_PACKAGES
    assert load_packages(None, processor="stripe") == {}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"bad slug!": {"tokens_quota": 1}}, "slug"),
        ({"a": "price_1"}, "'a' must be an object"),
        ({"a": {"tokens_quota": 0}}, "positive whole tokens_quota"),
        ({"a": {"tokens_quota": True}}, "positive whole tokens_quota"),
        ({"a": {"tokens_quota": 1, "price": 5}}, "not a processor price id"),
        ({"a": {"tokens_quota": 1, "price": "p"}, "b": {"tokens_quota": 1, "price": "p"}}, "share one price"),
    ],
)
def test_bad_packages_are_refused_naming_the_slug_never_the_price(document: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message) as refused:
        parse_packages(document)
    assert "price_1" not in str(refused.value)


def test_packages_load_from_a_toml_file_and_a_bad_file_is_a_configuration_error(tmp_path: Path) -> None:
    good = tmp_path / "packages.toml"
    good.write_text('[pro]\nprice = "price_pro"\ntokens_quota = 7\nname = "Pro"\n')
    assert load_packages(str(good), processor="stripe") == {"pro": Package("pro", "price_pro", 7, "Pro")}
    with pytest.raises(ConfigurationError, match="REMIT_PACKAGES"):
        load_packages(str(tmp_path / "missing.json"), processor="stripe")


def test_a_bad_remit_packages_stops_start_up_with_one_clear_message() -> None:
    spec = json.dumps({"starter": {"price": "price_secretish", "tokens_quota": -5}})
    # `provisioning list` reads nothing before the database: only the start-up check can refuse it with this.
    result = CliRunner().invoke(
        app, ["provisioning", "list"], env={"REMIT_PACKAGES": spec, "DATABASE_URL": "sqlite:////nonexistent/remit.db"}
    )
    assert result.exit_code == 2
    assert "REMIT_PACKAGES" in result.output
    assert "tokens_quota" in result.output
    assert "price_secretish" not in result.output
