from remit.cli.fake import next_steps, parse_duration
from remit.cli.webhook_endpoints import compare_events, endpoints_for
from remit.webhooks.event_types import HANDLED_EVENT_TYPES, handled_event_types


def test_handled_types_cover_what_the_mirror_projects():
    prefixes = ("customer.", "payment_method.", "customer.subscription.", "invoice.", "charge.",
                "charge.refund", "charge.dispute.", "checkout.session.", "product.", "price.")
    for prefix in prefixes:
        assert any(t.startswith(prefix) for t in HANDLED_EVENT_TYPES), prefix
    assert handled_event_types() == sorted(set(HANDLED_EVENT_TYPES))


def test_compare_events_names_missing_and_extra_types():
    handled = ["a.created", "b.created"]
    assert compare_events(["a.created", "b.created"], handled) == []
    problems = compare_events(["a.created", "z.created"], handled)
    assert problems == ["1 handled event type(s) not enabled: b.created",
                        "1 enabled event type(s) remit does not handle: z.created"]
    assert compare_events(["*"], handled) == [
        "the endpoint receives every event type ('*'), not just the ones remit handles"]


def test_endpoints_for_matches_urls_ignoring_a_trailing_slash():
    endpoints = [{"id": "we_1", "url": "https://r.example/wh/"}, {"id": "we_2", "url": "https://other/wh"}]
    assert [e["id"] for e in endpoints_for(endpoints, "https://r.example/wh")] == ["we_1"]


def test_parse_duration():
    assert [parse_duration(t) for t in ("3600", "90s", "15m", "12h", "30d", "2w")] == [
        3600, 90, 900, 43200, 2592000, 1209600]


def test_next_steps_point_at_real_commands_and_endpoints():
    lines = next_steps("http://127.0.0.1:8000/", has_tokens=True)
    assert any(line.startswith("remit webhooks list") for line in lines)
    assert any("Authorization: Bearer $TOKEN" in line and line.endswith("/api/v1/billing/customers")
               for line in lines)


def test_next_steps_without_tokens_say_how_to_get_one():
    lines = next_steps("http://127.0.0.1:8000", has_tokens=False)
    assert any("REMIT_SERVICE_TOKENS" in line for line in lines)
    assert all("Authorization: Bearer" in line for line in lines if line.startswith("curl"))
