"""Upcaster registry, upcasting on read and the PII rule of ledger data: pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from remit.errors import UpcastError
from remit.ledger import LedgerEvent, UpcasterRegistry, pii_keys_in, upcast
from remit.telemetry import ops


def _registry_v3() -> UpcasterRegistry:
    registry = UpcasterRegistry()

    @registry.upcaster("webhook.received", from_version=1)
    def _v1(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "endpoint": "stripe", "steps": [*data.get("steps", []), 1]}

    @registry.upcaster("webhook.received", from_version=2)
    def _v2(data: dict[str, Any]) -> dict[str, Any]:
        renamed = {key: value for key, value in data.items() if key != "evt"}
        return {**renamed, "event_id": data["evt"], "steps": [*data["steps"], 2]}

    return registry


def _event(version: int, data: dict[str, Any], event_type: str = "webhook.received") -> LedgerEvent:
    return LedgerEvent(
        id=7,
        type=event_type,
        schema_version=version,
        stored_version=version,
        subject="webhook_event:evt_1",
        actor="processor",
        data=data,
        idempotency_key="k",
        recorded_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_current_version_is_one_past_the_highest_step() -> None:
    registry = _registry_v3()
    assert registry.current_version("webhook.received") == 3
    assert registry.current_version("never.registered") == 1


def test_steps_apply_in_order_from_the_stored_version_and_leave_the_input_alone() -> None:
    registry = _registry_v3()
    original = {"evt": "evt_1", "nested": {"a": 1}}
    result = registry.upcast("webhook.received", 1, original)
    assert result == {"event_id": "evt_1", "nested": {"a": 1}, "endpoint": "stripe", "steps": [1, 2]}
    assert original == {"evt": "evt_1", "nested": {"a": 1}}
    from_two = registry.upcast("webhook.received", 2, {"evt": "evt_2", "steps": []})
    assert from_two == {"event_id": "evt_2", "steps": [2]}


def test_current_version_data_passes_through_as_a_copy() -> None:
    registry = _registry_v3()
    data = {"event_id": "evt_1", "nested": {"a": 1}}
    result = registry.upcast("webhook.received", 3, data)
    assert result == data
    result["nested"]["a"] = 2
    assert data["nested"]["a"] == 1


@pytest.mark.parametrize("version", [4, 99, 0, -1])
def test_a_version_outside_the_known_range_raises(version: int) -> None:
    with pytest.raises(UpcastError, match=f"version {version} is unknown"):
        _registry_v3().upcast("webhook.received", version, {})


def test_a_gap_in_the_chain_raises() -> None:
    registry = UpcasterRegistry()
    registry.register("invoice.noted", 1, lambda data: {**data, "v": 2})
    registry.register("invoice.noted", 3, lambda data: {**data, "v": 4})
    assert registry.current_version("invoice.noted") == 4
    with pytest.raises(UpcastError, match="no upcaster from schema version 2"):
        registry.upcast("invoice.noted", 1, {})
    assert registry.upcast("invoice.noted", 3, {}) == {"v": 4}


def test_registering_a_step_twice_or_below_one_is_refused() -> None:
    registry = _registry_v3()
    with pytest.raises(ValueError, match="already registered"):
        registry.register("webhook.received", 1, lambda data: data)
    with pytest.raises(ValueError, match="start at 1"):
        registry.register("webhook.received", 0, lambda data: data)


def test_unregister_removes_a_step() -> None:
    registry = _registry_v3()
    registry.unregister("webhook.received", 2)
    assert registry.current_version("webhook.received") == 2


def test_upcast_of_a_record_sets_the_current_version_and_keeps_the_stored_one() -> None:
    event = upcast(_event(1, {"evt": "evt_9"}), _registry_v3())
    assert event.schema_version == 3
    assert event.stored_version == 1
    assert event.data["event_id"] == "evt_9"


def test_an_unknown_version_emits_events_upcast_failed_with_identifiers_only() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    remove = ops.add_sink(lambda name, meta: seen.append((name, meta)))
    try:
        with pytest.raises(UpcastError, match="ledger event 7"):
            upcast(_event(5, {"email": "someone@example.com"}), _registry_v3())
    finally:
        remove()
    assert seen == [
        (
            "events_upcast_failed",
            {
                "event_id": 7,
                "event_type": "webhook.received",
                "schema_version": 5,
                "expected": 3,
                "reason": "unknown_version",
            },
        )
    ]


def test_a_readable_event_emits_nothing() -> None:
    seen: list[str] = []
    remove = ops.add_sink(lambda name, meta: seen.append(name))
    try:
        upcast(_event(2, {"evt": "evt_1", "steps": []}), _registry_v3())
    finally:
        remove()
    assert seen == []


def test_pii_keys_are_found_anywhere_by_name_and_values_are_never_reported() -> None:
    data = {
        "customer_id": "cus_1",
        "amount": 100,
        "details": {"Email": "a@b.c", "lines": [{"name": "Jane"}, {"price": "price_1"}]},
        "billing_details": {"address": {"city": "X"}},
    }
    found = pii_keys_in(data)
    assert found == ["details.Email", "details.lines[0].name", "billing_details", "billing_details.address"]
    assert all("@" not in path and "Jane" not in path for path in found)
    assert pii_keys_in({"customer_id": "cus_1", "amount": 5, "currency": "usd"}) == []
