from remit.cli.fake import parse_duration
from remit.cli.webhook_endpoints import compare_events, endpoints_for
from remit.webhooks.event_types import HANDLED_EVENT_TYPES, handled_event_types


def test_handled_types_cover_what_the_mirror_projects():
    prefixes = (
        "customer.",
        "payment_method.",
        "customer.subscription.",
        "invoice.",
        "charge.",
        "charge.refund",
        "charge.dispute.",
        "checkout.session.",
        "product.",
        "price.",
    )
    for prefix in prefixes:
        assert any(t.startswith(prefix) for t in HANDLED_EVENT_TYPES), prefix
    assert handled_event_types() == sorted(set(HANDLED_EVENT_TYPES))


def test_compare_events_names_missing_and_extra_types():
    handled = ["a.created", "b.created"]
    assert compare_events(["a.created", "b.created"], handled) == []
    problems = compare_events(["a.created", "z.created"], handled)
    assert problems == [
        "1 handled event type(s) not enabled: b.created",
        "1 enabled event type(s) remit does not handle: z.created",
    ]
    assert compare_events(["*"], handled) == [
        "the endpoint receives every event type ('*'), not just the ones remit handles"
    ]


def test_endpoints_for_matches_urls_ignoring_a_trailing_slash():
    endpoints = [{"id": "we_1", "url": "https://r.example/wh/"}, {"id": "we_2", "url": "https://other/wh"}]
    assert [e["id"] for e in endpoints_for(endpoints, "https://r.example/wh")] == ["we_1"]


def test_parse_duration():
    assert [parse_duration(t) for t in ("3600", "90s", "15m", "12h", "30d", "2w")] == [
        3600,
        90,
        900,
        43200,
        2592000,
        1209600,
    ]


def test_the_registered_event_types_are_exactly_those_the_mirror_projects():
    from remit.billing.kinds import KINDS
    from remit.billing.routing import object_name

    carried = {event_type: object_name(event_type, {}) for event_type in HANDLED_EVENT_TYPES}
    assert {t: o for t, o in carried.items() if o not in KINDS} == {}  # nothing subscribed that is then ignored
    assert set(KINDS) - set(carried.values()) == set()  # no mirrored object without its events
    assert {"refund.created", "refund.updated"} <= set(HANDLED_EVENT_TYPES)
