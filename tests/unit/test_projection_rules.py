"""The pure rules of the projection: watermark order, version hints, routing, field reading."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from remit.billing.fields import currency, integer, list_data, ref, timestamp
from remit.billing.kinds import KINDS, is_truncated
from remit.billing.refetch import complete_children
from remit.billing.routing import Ignored, MalformedEvent, Target, embedded_targets, route
from remit.billing.watermark import Phase, Watermark, phase_of

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
T1 = datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC)


def _event(
    event_type: str, obj: dict[str, Any], created: int = 1_772_366_400, event_id: str = "evt_1", **extra: Any
) -> dict[str, Any]:
    return {"id": event_id, "object": "event", "type": event_type, "created": created, "data": {"object": obj}, **extra}


def _target(event: dict[str, Any]) -> Target:
    routed = route(event)
    assert isinstance(routed, Target)
    return routed


# -- watermark order -----------------------------------------------------------------------------------------


def test_a_later_second_wins_whatever_the_other_parts_say() -> None:
    assert Watermark(T1, 0, Phase.CREATED, "evt_a") > Watermark(T0, 9**9, Phase.DELETED, "evt_z")


def test_within_a_second_the_hint_then_the_phase_then_the_event_id_decide() -> None:
    assert Watermark(T0, 2, Phase.CREATED, "evt_a") > Watermark(T0, 1, Phase.DELETED, "evt_z")
    assert Watermark(T0, 1, Phase.UPDATED, "evt_a") > Watermark(T0, 1, Phase.CREATED, "evt_z")
    assert Watermark(T0, 1, Phase.UPDATED, "evt_b") > Watermark(T0, 1, Phase.UPDATED, "evt_a")
    # byte order, as the database compares (upper case sorts before lower case)
    assert Watermark(T0, 1, Phase.UPDATED, "evt_a") > Watermark(T0, 1, Phase.UPDATED, "evt_Z")


def test_the_same_event_is_not_newer_than_itself() -> None:
    mark = Watermark(T0, 3, Phase.UPDATED, "evt_1")
    assert not mark.is_newer_than(Watermark(T0, 3, Phase.UPDATED, "evt_1"))
    assert mark.is_newer_than(None)


@pytest.mark.parametrize(
    ("event_type", "deleting", "phase"),
    [
        ("customer.created", False, Phase.CREATED),
        ("customer.subscription.created", False, Phase.CREATED),
        ("invoice.paid", False, Phase.UPDATED),
        ("customer.deleted", True, Phase.DELETED),
        ("product.created", True, Phase.DELETED),
    ],
)
def test_phase_of_event_types(event_type: str, deleting: bool, phase: Phase) -> None:
    assert phase_of(event_type, deleting=deleting) == phase


# -- version hints: only ever increase along an object's real life ---------------------------------------------


def _hints(kind: str, states: list[dict[str, Any]]) -> list[int]:
    return [KINDS[kind].hint(state) for state in states]


def _strictly_increasing(values: list[int]) -> bool:
    return all(a < b for a, b in itertools.pairwise(values))


def test_invoice_hint_follows_status_then_attempts() -> None:
    assert _strictly_increasing(
        _hints(
            "invoice",
            [
                {"status": "draft"},
                {"status": "open", "attempt_count": 0},
                {"status": "open", "attempt_count": 1},
                {"status": "open", "attempt_count": 2},
                {"status": "uncollectible", "attempt_count": 4},
                {"status": "paid", "attempt_count": 4},
            ],
        )
    )
    assert KINDS["invoice"].hint({"status": "void"}) == KINDS["invoice"].hint({"status": "paid"})


def test_charge_hint_follows_settlement_capture_dispute_and_refunds() -> None:
    assert _strictly_increasing(
        _hints(
            "charge",
            [
                {"status": "pending"},
                {"status": "succeeded", "captured": False},
                {"status": "succeeded", "captured": True},
                {"status": "succeeded", "captured": True, "disputed": True},
                {"status": "succeeded", "captured": True, "disputed": True, "amount_refunded": 500},
                {"status": "succeeded", "captured": True, "disputed": True, "amount_refunded": 1000},
            ],
        )
    )


def test_subscription_hint_follows_the_period_and_ends_highest() -> None:
    assert _strictly_increasing(
        _hints(
            "subscription",
            [
                {"status": "incomplete", "current_period_start": 100},
                {"status": "active", "current_period_start": 200},
                {"status": "active", "items": {"object": "list", "data": [{"current_period_start": 300}]}},
                {"status": "canceled", "current_period_start": 300},
            ],
        )
    )
    # a past_due -> active recovery in the same period is not a regression of the hint
    assert KINDS["subscription"].hint({"status": "past_due", "current_period_start": 5}) == KINDS["subscription"].hint(
        {"status": "active", "current_period_start": 5}
    )


@pytest.mark.parametrize(
    ("kind", "states"),
    [
        ("refund", [{"status": "pending"}, {"status": "succeeded"}, {"status": "failed"}]),
        ("dispute", [{"status": "needs_response"}, {"status": "under_review"}, {"status": "won"}]),
        (
            "checkout.session",
            [
                {"status": "open", "payment_status": "unpaid"},
                {"status": "complete", "payment_status": "unpaid"},
                {"status": "complete", "payment_status": "paid"},
            ],
        ),
        ("product", [{"updated": 10}, {"updated": 11}]),
    ],
)
def test_other_hints_increase_along_the_life_of_the_object(kind: str, states: list[dict[str, Any]]) -> None:
    assert _strictly_increasing(_hints(kind, states))


def test_kinds_without_a_monotone_field_have_no_hint() -> None:
    for kind in ("customer", "payment_method", "price"):
        assert KINDS[kind].hint({"id": "x", "status": "paid", "updated": 99}) == 0


# -- routing ---------------------------------------------------------------------------------------------------


def test_an_event_routes_to_its_object_with_its_watermark() -> None:
    target = _target(
        _event(
            "invoice.paid",
            {"id": "in_1", "object": "invoice", "status": "paid", "livemode": True, "created": 1_772_000_000},
            event_id="evt_9",
        )
    )
    assert (target.kind.name, target.stripe_id, target.deleting, target.livemode) == ("invoice", "in_1", False, True)
    assert target.watermark == Watermark(datetime.fromtimestamp(1_772_366_400, UTC), 3 * 10**6, Phase.UPDATED, "evt_9")
    assert target.created == datetime.fromtimestamp(1_772_000_000, UTC)


def test_livemode_and_created_fall_back_to_the_event() -> None:
    target = _target(_event("customer.updated", {"id": "cus_1", "object": "customer"}, livemode=True))
    assert target.livemode is True
    assert target.created == target.watermark.event_created


@pytest.mark.parametrize(
    "event_type",
    [
        "customer.deleted",
        "product.deleted",
        "price.deleted",
        "customer.subscription.deleted",
        "payment_method.detached",
        "invoice.deleted",
    ],
)
def test_deleting_event_types(event_type: str) -> None:
    assert _target(_event(event_type, {"id": "x_1"})).deleting


def test_an_object_that_says_deleted_is_deleting_whatever_the_type() -> None:
    assert _target(_event("customer.updated", {"id": "cus_1", "object": "customer", "deleted": True})).deleting
    assert not _target(_event("customer.updated", {"id": "cus_1", "object": "customer"})).deleting


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (_event("coupon.created", {"id": "co_1", "object": "coupon"}), "not_mirrored"),
        (_event("customer.source.created", {"id": "card_1"}), "not_mirrored"),
        (_event("invoice.upcoming", {"object": "invoice"}), "no_object_id"),
        ({"id": "evt_1", "created": 1, "type": "customer.updated", "data": {}}, "no_object"),
        ({"id": "evt_1", "created": 1, "type": "customer.updated", "data": {"object": ["x"]}}, "no_object"),
    ],
)
def test_ignored_events(event: dict[str, Any], reason: str) -> None:
    routed = route(event)
    assert isinstance(routed, Ignored)
    assert routed.reason == reason


@pytest.mark.parametrize(
    ("event_type", "obj", "kind"),
    [
        # the object's own type decides, whatever the event's prefix suggests
        ("invoiceitem.created", {"id": "ii_1", "object": "invoiceitem", "invoice": "in_1"}, None),
        ("customer.source.created", {"id": "card_1", "object": "card", "customer": "cus_1"}, None),
        ("customer.source.updated", {"id": "src_1", "object": "source"}, None),
        ("customer.discount.created", {"id": "di_1", "object": "discount", "customer": "cus_1"}, None),
        ("customer.tax_id.created", {"id": "txi_1", "object": "tax_id", "customer": "cus_1"}, None),
        ("payment_intent.succeeded", {"id": "pi_1", "object": "payment_intent", "customer": "cus_1"}, None),
        ("charge.dispute.created", {"id": "dp_1", "object": "dispute", "charge": "ch_1"}, "dispute"),
        ("charge.refund.updated", {"id": "re_1", "object": "refund", "charge": "ch_1"}, "refund"),
        ("checkout.session.completed", {"id": "cs_1", "object": "checkout.session"}, "checkout.session"),
        ("invoice.updated", {"id": "inpay_1", "object": "invoice_payment", "invoice": "in_1"}, None),
        ("customer.updated", {"id": "sub_1", "object": "subscription"}, "subscription"),
        # without an ``object`` field, the longest matching prefix decides
        ("invoiceitem.created", {"id": "ii_1"}, None),
        ("customer.source.created", {"id": "card_1"}, None),
        ("customer.discount.deleted", {"id": "di_1"}, None),
        ("payment_intent.succeeded", {"id": "pi_1"}, None),
        ("charge.dispute.closed", {"id": "dp_1"}, "dispute"),
        ("charge.refund.updated", {"id": "re_1"}, "refund"),
        ("checkout.session.expired", {"id": "cs_1"}, "checkout.session"),
        ("customer.subscription.paused", {"id": "sub_1"}, "subscription"),
        ("plan.updated", {"id": "plan_1"}, None),
    ],
)
def test_the_carried_object_decides_the_table(event_type: str, obj: dict[str, Any], kind: str | None) -> None:
    routed = route(_event(event_type, obj))
    if kind is None:
        assert isinstance(routed, Ignored)
        assert routed.reason == "not_mirrored"
        assert routed.object_id == obj["id"]
    else:
        assert isinstance(routed, Target)
        assert (routed.kind.name, routed.stripe_id) == (kind, obj["id"])


@pytest.mark.parametrize(
    "event",
    [
        {"created": 1, "type": "customer.updated", "data": {"object": {"id": "cus_1"}}},
        {"id": "evt_1", "type": "customer.updated", "data": {"object": {"id": "cus_1"}}},
        {"id": "", "created": 1, "data": {}},
        {"id": "evt_1", "created": "yesterday", "data": {}},
    ],
)
def test_an_event_without_id_or_created_time_is_malformed(event: dict[str, Any]) -> None:
    with pytest.raises(MalformedEvent):
        route(event)


def test_refunds_embedded_in_a_charge_are_targets_of_their_own_at_the_same_event() -> None:
    charge = _target(
        _event(
            "charge.refunded",
            {
                "id": "ch_1",
                "object": "charge",
                "livemode": False,
                "refunds": {
                    "object": "list",
                    "has_more": False,
                    "data": [{"id": "re_1", "object": "refund", "status": "succeeded"}, {"object": "refund"}],
                },
            },
            event_id="evt_5",
        )
    )
    embedded = embedded_targets(charge)
    assert [(t.kind.name, t.stripe_id, t.deleting) for t in embedded] == [("refund", "re_1", False)]
    assert embedded[0].watermark.event_id == "evt_5"
    assert embedded[0].watermark.hint == KINDS["refund"].hint({"status": "succeeded"})


def test_truncated_child_lists_are_detected() -> None:
    invoice = KINDS["invoice"]
    assert is_truncated(invoice, {"lines": {"object": "list", "data": [], "has_more": True}})
    assert not is_truncated(invoice, {"lines": {"object": "list", "data": [], "has_more": False}})
    assert not is_truncated(invoice, {})


# -- fields ----------------------------------------------------------------------------------------------------


def test_field_readers_accept_only_the_expected_shapes() -> None:
    assert ref("cus_1") == "cus_1"
    assert ref({"id": "cus_1", "object": "customer"}) == "cus_1"
    assert ref(None) is None
    assert ref("") is None
    assert ref(5) is None
    assert integer(5) == 5
    assert integer(True) is None
    assert integer("5") is None
    assert integer(2**64) is None
    assert currency("USD") == "usd"
    assert currency("dollars") is None
    assert timestamp(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert timestamp(None) is None
    assert timestamp(10**20) is None
    assert list_data({"object": "list", "data": [{"id": "a"}, "junk"], "has_more": True}) == ([{"id": "a"}], False)
    assert list_data({"object": "list", "data": []}) == ([], True)
    assert list_data("li_1") is None


class _StuckLister:
    """A processor whose page says there is more but gives no id to continue after."""

    def __init__(self, data: list[dict[str, Any]]) -> None:
        self.data = data

    async def list_invoice_lines(self, invoice_id: str, *, limit: int, starting_after: str | None) -> Any:
        return {"object": "list", "has_more": True, "data": self.data}


@pytest.mark.parametrize("data", [[], [{"object": "line_item"}]])
async def test_a_listing_that_cannot_be_continued_leaves_the_payload_in_charge(data: list[dict[str, Any]]) -> None:
    """Only a list known to be complete may mark missing children removed; a page that says ``has_more`` but
    cannot be continued is not one, so the payload's partial list is kept, as when the processor fails."""
    obj = {
        "id": "in_1",
        "object": "invoice",
        "lines": {"object": "list", "has_more": True, "data": [{"id": "il_1", "object": "line_item"}]},
    }
    children = await complete_children(_StuckLister(data), KINDS["invoice"], "in_1", obj)
    assert children == {"lines": ([{"id": "il_1", "object": "line_item"}], False)}
