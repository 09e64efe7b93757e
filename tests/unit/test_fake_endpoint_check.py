from remit.cli.fake import DeadLetterCheck, next_steps, parse_duration
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


def test_next_steps_point_at_real_commands_and_endpoints():
    lines = next_steps("http://127.0.0.1:8000/", has_tokens=True)
    assert any(line.startswith("remit webhooks list") for line in lines)
    assert any("Authorization: Bearer $TOKEN" in line and line.endswith("/api/v1/billing/customers") for line in lines)


def test_next_steps_without_tokens_say_how_to_get_one():
    lines = next_steps("http://127.0.0.1:8000", has_tokens=False)
    assert any("REMIT_SERVICE_TOKENS" in line for line in lines)
    assert all("Authorization: Bearer" in line for line in lines if line.startswith("curl"))


def test_next_steps_name_this_runs_dead_letters_and_how_to_fix_them():
    lines = next_steps(
        "http://127.0.0.1:8000",
        has_tokens=True,
        dead_letters=DeadLetterCheck(dead=[41, 43]),
        subscription_id="sub_fake000004",
    )
    assert any(line.startswith("remit webhooks list --status dead") for line in lines)
    assert [line.split("#")[0].strip() for line in lines if line.startswith("remit webhooks show")] == [
        "remit webhooks show 41",
        "remit webhooks show 43",
    ]
    fix = next(line for line in lines if "metadata[seats]" in line)
    assert fix.startswith("curl -X POST http://127.0.0.1:8000/fake/v1/subscriptions/sub_fake000004 ")
    assert any(line.startswith("remit webhooks replay --status dead") for line in lines)


def test_next_steps_without_dead_letters_point_at_show_id_and_say_why():
    generic = next_steps("http://127.0.0.1:8000", has_tokens=True)
    assert any(line.startswith("remit webhooks show ID") for line in generic)
    assert not any("metadata[seats]" in line for line in generic)
    missing = next_steps("http://127.0.0.1:8000", has_tokens=True, dead_letters=DeadLetterCheck(not_dead=[41]))
    assert any("REMIT_JOB_MODULES" in line for line in missing)


def test_the_registered_event_types_are_exactly_those_the_mirror_projects():
    from remit.billing.kinds import KINDS
    from remit.billing.routing import object_name

    carried = {event_type: object_name(event_type, {}) for event_type in HANDLED_EVENT_TYPES}
    assert {t: o for t, o in carried.items() if o not in KINDS} == {}  # nothing subscribed that is then ignored
    assert set(KINDS) - set(carried.values()) == set()  # no mirrored object without its events
    assert {"refund.created", "refund.updated"} <= set(HANDLED_EVENT_TYPES)
