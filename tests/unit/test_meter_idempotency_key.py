"""The processor idempotency key of a meter event: the operation id in remit's namespace, within 255 chars."""

from __future__ import annotations

from remit.usage.reporting import MAX_IDEMPOTENCY_KEY, meter_idempotency_key


def test_a_short_operation_id_is_prefixed() -> None:
    assert meter_idempotency_key("demo-7-1") == "remit-meter-event:demo-7-1"


def test_the_longest_operation_id_that_fits_is_kept_whole() -> None:
    longest = "x" * (MAX_IDEMPOTENCY_KEY - len("remit-meter-event:"))
    assert meter_idempotency_key(longest) == f"remit-meter-event:{longest}"


def test_a_longer_operation_id_is_hashed_within_the_limit() -> None:
    long_id = "y" * 255
    key = meter_idempotency_key(long_id)
    assert key.startswith("remit-meter-event-sha256:")
    assert len(key) <= MAX_IDEMPOTENCY_KEY
    assert meter_idempotency_key(long_id) == key  # a resend is the same request


def test_two_long_operation_ids_get_two_keys() -> None:
    assert meter_idempotency_key("a" * 250 + "1") != meter_idempotency_key("a" * 250 + "2")


def test_a_short_operation_id_spelling_a_hashed_key_cannot_meet_it() -> None:
    hashed = meter_idempotency_key("z" * 255)
    suffix = hashed.removeprefix("remit-meter-event-")
    assert meter_idempotency_key(suffix) != hashed
