"""A billing action's arguments are checked before anything is called: each refusal names the argument and never
quotes its value; the request fingerprint tells two requests apart and ignores key order; span metadata keeps
identifiers only."""

from __future__ import annotations

import pytest

from remit.billing import action_params as params
from remit.billing.action_runner import InvalidActionRequest
from remit.billing.action_store import fingerprint
from remit.telemetry.spans import span_metadata


@pytest.mark.parametrize(
    ("check", "value", "param"),
    [
        (lambda v: params.check_key(v), "", "idempotency_key"),
        (lambda v: params.check_key(v), "k" * 256, "idempotency_key"),
        (lambda v: params.check_key(v), "a\x00b", "idempotency_key"),
        (lambda v: params.text(v, "email"), "a\ud800b", "email"),
        (lambda v: params.text(v, "name", required=True), None, "name"),
        (lambda v: params.text(v, "name", required=True), "   ", "name"),
        (lambda v: params.text(v, "name"), 7, "name"),
        (lambda v: params.url(v, "success_url", required=True), "javascript:alert(1)", "success_url"),
        (lambda v: params.metadata(v), {"k": 1}, "metadata"),
        (lambda v: params.metadata(v), {"": "v"}, "metadata"),
        (lambda v: params.metadata(v), {f"k{i}": "v" for i in range(51)}, "metadata"),
        (lambda v: params.positive(v, "quantity"), 0, "quantity"),
        (lambda v: params.positive(v, "quantity"), True, "quantity"),
        (lambda v: params.positive(v, "quantity"), 10**9, "quantity"),
    ],
)
def test_a_bad_argument_is_refused_by_name_without_its_value(check, value, param) -> None:
    with pytest.raises(InvalidActionRequest) as refused:
        check(value)
    assert refused.value.param == param
    assert refused.value.status == 400
    if isinstance(value, str) and len(value) > 3:
        assert value not in str(refused.value)


def test_good_arguments_come_back_unchanged() -> None:
    assert params.check_key("signup-acct_42") == "signup-acct_42"
    assert params.url("https://a.example/ok", "success_url") == "https://a.example/ok"
    assert params.metadata({"plan": "pro"}) == {"plan": "pro"}
    assert params.positive(3, "quantity") == 3
    assert params.text(None, "email") is None


def test_the_fingerprint_tells_requests_apart_and_ignores_key_order() -> None:
    one = fingerprint("create_customer", {"email": "a@example.com", "name": "A"})
    assert one == fingerprint("create_customer", {"name": "A", "email": "a@example.com"})
    assert one != fingerprint("create_customer", {"email": "b@example.com", "name": "A"})
    assert one != fingerprint("update_customer", {"email": "a@example.com", "name": "A"})


def test_span_metadata_keeps_identifiers_only() -> None:
    kept = span_metadata(
        {
            "action": "create_checkout_session",
            "customer_id": "cus_1",
            "url": "https://checkout.example/c/pay/cs_1#secret",
            "client_secret": "pi_1_secret_x",
            "email": "a@example.com",
            "object_id": {"nested": "object"},
        }
    )
    assert kept == {"action": "create_checkout_session", "customer_id": "cus_1"}
