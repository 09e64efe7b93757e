from datetime import UTC, datetime

import pytest

from remit.processor.fake.cards import Behavior, iban_behavior, magic_card
from remit.processor.fake.ids import format_id, prefix_for
from remit.processor.fake.periods import add_interval


def ts(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("start", "interval", "count", "end"),
    [
        (ts(2026, 1, 31), "month", 1, ts(2026, 2, 28)),
        (ts(2026, 1, 15), "month", 1, ts(2026, 2, 15)),
        (ts(2026, 11, 30), "month", 3, ts(2027, 2, 28)),
        (ts(2024, 2, 29), "year", 1, ts(2025, 2, 28)),
        (ts(2026, 1, 1), "week", 2, ts(2026, 1, 15)),
        (ts(2026, 1, 1), "day", 1, ts(2026, 1, 2)),
    ],
)
def test_add_interval_is_calendar_aware(start, interval, count, end):
    assert add_interval(start, interval, count) == end


def test_add_interval_refuses_unknown_intervals():
    with pytest.raises(ValueError, match="interval"):
        add_interval(0, "fortnight")


def test_ids_are_prefixed_counters_that_sort_in_creation_order():
    assert format_id(prefix_for("customer"), 1) == "cus_fake000001"
    assert format_id(prefix_for("checkout.session"), 12) == "cs_test_fake000012"
    assert sorted([format_id("ch", 10), format_id("ch", 9)]) == [format_id("ch", 9), format_id("ch", 10)]
    with pytest.raises(ValueError, match="prefix"):
        prefix_for("unicorn")


def test_test_cards_behave_as_stripe_documents():
    assert magic_card("pm_card_visa").behavior is Behavior.SUCCEED
    assert magic_card("tok_chargeCustomerFail").behavior is Behavior.DECLINE
    assert magic_card("pm_card_threeDSecure2Required").behavior is Behavior.REQUIRES_ACTION
    assert magic_card("pm_card_createDispute").behavior is Behavior.DISPUTE
    assert magic_card("pm_fake000001") is None
    assert iban_behavior("AT61 1904 3002 3457 3201") is Behavior.ASYNC_SUCCEED
    assert iban_behavior("IT60X0542811101000000123456") is Behavior.ASYNC_FAIL
