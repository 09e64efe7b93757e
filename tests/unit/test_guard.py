"""The guards' pure decisions: the sliding-window rate limit's arithmetic and the origin policy."""

from __future__ import annotations

import pytest

from remit.guard.origin import OriginPolicy, in_networks, parse_networks
from remit.guard.ratelimit import Window, allowance, retry_after


def test_a_window_is_its_number_since_the_epoch_and_how_far_into_it() -> None:
    assert Window.at(125.0, 60) == Window(2, pytest.approx(5 / 60))
    assert Window.at(120.0, 60) == Window(2, 0.0)


@pytest.mark.parametrize(
    ("previous", "elapsed", "expected"),
    [(0, 0.0, 10), (10, 0.0, 0), (10, 0.5, 5), (10, 0.95, 9), (4, 0.25, 7)],
)
def test_the_previous_window_weighs_by_its_overlap(previous: int, elapsed: float, expected: int) -> None:
    assert allowance(10, previous, elapsed) == expected


def test_retry_after_waits_for_the_previous_windows_weight_to_fall() -> None:
    # 10 per 60 s; previous window held 10, this one 5 at half way: the estimate 10 * 0.5 + 5 = 10 is full.
    # One more fits once 10 * (1 - e) + 6 <= 10, at e = 0.6: 6 seconds later.
    assert retry_after(10, 10, 5, 0.5, 60) == 6
    assert allowance(10, 10, 0.6) >= 6


def test_retry_after_a_full_window_without_a_previous_one_is_its_end() -> None:
    # 10 in this window (none before): the next window starts with 10 as its previous, and one more fits at
    # e = 1 - 9/10 = 0.1 into it: 45 s to the boundary plus 6 s.
    assert retry_after(10, 0, 10, 0.25, 60) == 51
    assert allowance(10, 10, 0.1) >= 1
    assert allowance(10, 10, 0.05) < 1


def test_retry_after_is_at_least_a_second() -> None:
    assert retry_after(10, 0, 3, 0.999999, 60) == 1


def test_networks_parse_and_name_a_bad_item_by_position_only() -> None:
    networks = parse_networks(["10.0.0.0/8", "::1/128", "192.168.1.7"])
    assert in_networks("10.2.3.4", networks)
    assert in_networks("::1", networks)
    assert in_networks("::ffff:10.0.0.1", networks)  # an IPv4-mapped peer of a dual-stack socket
    assert in_networks("192.168.1.7", networks)
    assert not in_networks("192.168.1.8", networks)
    assert not in_networks("not-an-ip", networks)
    assert not in_networks(None, networks)
    with pytest.raises(ValueError, match="item 2") as caught:
        parse_networks(["10.0.0.0/8", "secret-ish-text"])
    assert "secret-ish-text" not in str(caught.value)


def test_the_origin_policy_admits_the_proxy_an_allowed_network_or_an_exempt_path() -> None:
    policy = OriginPolicy("cf-connecting-ip", parse_networks(["127.0.0.0/8"]), frozenset({"/health"}))
    assert policy.admits(path="/api/v1/billing/customers", peer="203.0.113.9", has_header=True)
    assert policy.admits(path="/api/v1/billing/customers", peer="127.0.0.1", has_header=False)
    assert policy.admits(path="/health", peer="203.0.113.9", has_header=False)
    assert not policy.admits(path="/api/v1/billing/customers", peer="203.0.113.9", has_header=False)
    assert not policy.admits(path="/health/", peer="203.0.113.9", has_header=False)  # exact paths only
