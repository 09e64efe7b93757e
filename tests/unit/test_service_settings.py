"""What ``remit up``/``serve`` make of their address: where the in-process fake processor delivers."""

from __future__ import annotations

import pytest

from remit.config import Settings, load_settings
from remit.service import display_host, served_settings


@pytest.fixture
def unset_url(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("REMIT_URL", raising=False)
    return load_settings()


def test_an_unset_remit_url_follows_the_served_port(unset_url: Settings) -> None:
    assert served_settings(unset_url, "127.0.0.1", 9000).url == "http://127.0.0.1:9000"
    assert served_settings(unset_url, "0.0.0.0", 8100).url == "http://127.0.0.1:8100"


def test_an_explicit_remit_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMIT_URL", "https://billing.example.com")
    assert served_settings(load_settings(), "127.0.0.1", 9000).url == "https://billing.example.com"


def test_port_zero_keeps_the_default_since_the_port_is_not_known_yet(unset_url: Settings) -> None:
    assert served_settings(unset_url, "127.0.0.1", 0).url == unset_url.url


def test_display_host_names_what_a_person_can_reach() -> None:
    assert display_host("0.0.0.0") == "127.0.0.1"
    assert display_host("::1") == "[::1]"
    assert display_host("example.internal") == "example.internal"
