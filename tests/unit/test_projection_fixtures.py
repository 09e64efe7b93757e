"""The real Stripe payloads of `tests/fixtures/stripe`, turned into events and routed (pure, no database).

:func:`tests.support.fixtures.fixture_events` turns each file into events (the integration tests feed the mirror
the same ones). ``stripe-cli-trigger__*`` files are recipes of API calls, not payloads: their event types are
checked to route to the right mirror table instead.
"""

from __future__ import annotations

from remit.billing.fields import list_data
from remit.billing.kinds import KINDS
from remit.billing.routing import Ignored, Target, route
from tests.support.fixtures import DEFAULT_CREATED, fixture_events, stripe_fixtures


def trigger_event_types() -> list[str]:
    return sorted(p.name.split("__", 1)[1].removesuffix(".json") for p in stripe_fixtures("stripe-cli-trigger__*.json"))


def test_every_fixture_payload_routes_without_error() -> None:
    events = fixture_events()
    assert len(events) > 150
    targets = [routed for _, event in events if isinstance(routed := route(event), Target)]
    ignored = [routed for _, event in events if isinstance(routed := route(event), Ignored)]
    assert len(targets) + len(ignored) == len(events)
    # every mirrored type is exercised by real payloads
    assert {target.kind.name for target in targets} == set(KINDS)
    for target in targets:
        assert target.stripe_id
        assert target.kind.columns(target.data) is not None
        assert target.watermark.hint >= 0


def test_objects_remit_does_not_mirror_are_ignored_with_a_reason() -> None:
    reasons = {
        route(event).reason
        for name, event in fixture_events()  # type: ignore[union-attr]
        if isinstance(route(event), Ignored)
    }
    assert reasons <= {"not_mirrored", "no_object_id", "no_object"}
    by_name = {name: route(event) for name, event in fixture_events()}
    assert isinstance(by_name["stripe-ruby-mock__coupon.created.json"], Ignored)
    upcoming = by_name["stripe-ruby-mock__invoice.upcoming.json"]
    assert isinstance(upcoming, Ignored)
    assert upcoming.reason == "no_object_id"
    # pay's invoice.updated actually carries an invoice_payment: judged by what it carries
    payment = by_name["pay__invoice.updated.json"]
    assert isinstance(payment, Ignored)
    assert payment.object_type == "invoice_payment"


def test_payloads_without_an_object_field_are_typed_by_the_event_type() -> None:
    by_name = {name: route(event) for name, event in fixture_events()}
    charge = by_name["pay__charge.succeeded.json"]
    assert isinstance(charge, Target)
    assert charge.kind.name == "charge"
    assert charge.stripe_id == "ch_chargeid"


EXPECTED_TRIGGER_KINDS = {
    "charge.captured": "charge",
    "charge.dispute.created": "dispute",
    "charge.failed": "charge",
    "charge.refunded": "charge",
    "charge.succeeded": "charge",
    "checkout.session.async_payment_failed": "checkout.session",
    "checkout.session.async_payment_succeeded": "checkout.session",
    "checkout.session.completed": "checkout.session",
    "checkout.session.expired": "checkout.session",
    "customer.created": "customer",
    "customer.deleted": "customer",
    "customer.subscription.created": "subscription",
    "customer.subscription.deleted": "subscription",
    "customer.subscription.paused": "subscription",
    "customer.subscription.trial_will_end": "subscription",
    "customer.subscription.updated": "subscription",
    "customer.updated": "customer",
    "invoice.created": "invoice",
    "invoice.finalized": "invoice",
    "invoice.marked_uncollectible": "invoice",
    "invoice.paid": "invoice",
    "invoice.payment_action_required": "invoice",
    "invoice.payment_failed": "invoice",
    "invoice.sent": "invoice",
    "invoice.updated": "invoice",
    "invoice.voided": "invoice",
    "payment_method.attached": "payment_method",
    "payment_method.detached": "payment_method",
    "subscription.payment_failed": None,  # stripe-cli names, not event types: they emit invoice.* events
    "subscription.payment_succeeded": None,
}
DELETING_TRIGGERS = {"customer.deleted", "customer.subscription.deleted", "payment_method.detached"}


def test_each_stripe_trigger_event_type_routes_to_its_table() -> None:
    for event_type in trigger_event_types():
        routed = route(
            {"id": "evt_1", "created": DEFAULT_CREATED, "type": event_type, "data": {"object": {"id": "obj_1"}}}
        )
        expected = EXPECTED_TRIGGER_KINDS.get(event_type)
        if expected is None:
            assert isinstance(routed, Ignored), event_type
            continue
        assert isinstance(routed, Target), event_type
        assert routed.kind.name == expected, event_type
        assert routed.deleting == (event_type in DELETING_TRIGGERS), event_type
    mirrored = {t for t in trigger_event_types() if EXPECTED_TRIGGER_KINDS.get(t)}
    assert mirrored == {t for t, kind in EXPECTED_TRIGGER_KINDS.items() if kind}


def test_each_kind_fills_the_same_columns_for_every_payload() -> None:
    """The projection caches one upsert statement per row shape; a kind whose filter columns depended on the
    payload would still be written right, but would build (and cache) a statement per variant, and a column
    it left out of one event would keep a stale value instead of being cleared."""
    shapes: dict[str, set[tuple[str, ...]]] = {name: {tuple(kind.columns({}))} for name, kind in KINDS.items()}
    child_shapes = {child.field: {tuple(child.columns({}))} for kind in KINDS.values() for child in kind.children}
    for _, event in fixture_events():
        target = route(event)
        if not isinstance(target, Target):
            continue
        shapes[target.kind.name].add(tuple(target.kind.columns(target.data)))
        for child in target.kind.children:
            listed = list_data(target.data.get(child.field))
            for item in listed[0] if listed else []:
                child_shapes[child.field].add(tuple(child.columns(item)))
    assert {name: len(found) for name, found in shapes.items()} == dict.fromkeys(KINDS, 1)
    assert {name: len(found) for name, found in child_shapes.items()} == {"items": 1, "lines": 1}
    for kind in KINDS.values():  # every filter column is a column of the kind's table
        assert set(kind.columns({})) <= set(kind.table.c.keys()), kind.name
        for child in kind.children:
            assert set(child.columns({})) <= set(child.table.c.keys()), child.field
