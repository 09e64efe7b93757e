"""The host handler registry, and which handlers a dispatch attempt still has to run."""

from __future__ import annotations

import pytest

from remit.billing.routing import MalformedEvent
from remit.errors import PermanentFailure, WebhookError
from remit.webhooks.dispatch import (
    DEFAULT_HANDLER,
    MIRROR_HANDLER,
    all_permanent,
    failure_names,
    last_error_of,
    steps_for,
)
from remit.webhooks.handlers import HandlerContext, HandlerRegistry


async def one(ctx: HandlerContext) -> None:
    return None


async def two(ctx: HandlerContext) -> None:
    return None


def test_exact_names_and_patterns_match() -> None:
    registry = HandlerRegistry()
    registry.register("invoice.paid", one, name="exact")
    registry.register(("invoice.*", "charge.refunded"), two, name="pattern")
    registry.register("*", one, name="all")
    assert [h.name for h in registry.for_type("invoice.paid")] == ["exact", "pattern", "all"]
    assert [h.name for h in registry.for_type("invoice.payment_failed")] == ["pattern", "all"]
    assert [h.name for h in registry.for_type("charge.refunded")] == ["pattern", "all"]
    assert [h.name for h in registry.for_type("charge.refund.updated")] == ["all"]
    assert [h.name for h in registry.for_type("invoicex")] == ["all"]


def test_the_decorator_registers_and_returns_the_function() -> None:
    registry = HandlerRegistry()

    @registry.on("customer.*")
    async def welcome(ctx: HandlerContext) -> None:
        return None

    assert welcome.__name__ == "welcome"
    [handler] = registry.for_type("customer.created")
    assert handler.func is welcome
    assert handler.name.endswith("test_the_decorator_registers_and_returns_the_function.<locals>.welcome")


def test_names_are_unique_but_re_registering_the_same_function_is_harmless() -> None:
    registry = HandlerRegistry()
    registry.register("a", one, name="h")
    registry.register("a", one, name="h")
    with pytest.raises(WebhookError):
        registry.register("a", two, name="h")
    registry.remove("h")
    registry.register("a", two, name="h")
    assert registry.names() == ["h"]


def test_a_handler_needs_a_pattern() -> None:
    with pytest.raises(WebhookError):
        HandlerRegistry().register((), one)
    with pytest.raises(WebhookError):
        HandlerRegistry().register("", one)


def test_steps_run_the_default_first_and_skip_what_already_succeeded() -> None:
    registry = HandlerRegistry([MIRROR_HANDLER])  # as the webhooks part, first in remit.parts, composes it
    registry.register("invoice.*", one, name="first")
    registry.register("invoice.*", two, name="second")
    assert [s.name for s in steps_for("invoice.paid", registry, {})] == [DEFAULT_HANDLER, "first", "second"]
    done = {DEFAULT_HANDLER: {"ok": True}, "first": {"ok": False, "type": "X"}, "second": {"ok": True}}
    assert [s.name for s in steps_for("invoice.paid", registry, done)] == ["first"]
    assert [s.name for s in steps_for("customer.created", registry, {})] == [DEFAULT_HANDLER]


def test_last_error_names_every_failed_handler() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 1, 1, tzinfo=UTC)
    failures = {"a": {"type": "KeyError", "message": "'x'"}, "b": {"type": "ValueError", "message": "bad"}}
    error = last_error_of(failures, 3, at)
    assert error["type"] == "KeyError"
    assert error["handler"] == "a"
    assert error["attempt"] == 3
    assert set(error["handlers"]) == {"a", "b"}


class SeatsUnreadable(PermanentFailure):
    """A host's own permanent failure, as a subclass."""


def test_only_all_permanent_failures_give_up() -> None:
    assert all_permanent({"a": PermanentFailure("x"), "b": SeatsUnreadable("y")})
    assert all_permanent({"remit.mirror": MalformedEvent("no id")})  # remit's own unreadable event
    assert not all_permanent({"a": PermanentFailure("x"), "b": RuntimeError("timeout")})  # b may recover
    assert not all_permanent({"a": RuntimeError("timeout")})
    assert not all_permanent({})


def test_failure_names_carry_identifiers_not_messages() -> None:
    names = failure_names({"host.seats": SeatsUnreadable("customer ada@example.com typed twelve")})
    assert names == "host.seats (SeatsUnreadable)"


def test_permanent_failure_is_exported_where_hosts_look() -> None:
    import remit
    import remit.webhooks

    assert remit.PermanentFailure is remit.webhooks.PermanentFailure is PermanentFailure
    assert issubclass(PermanentFailure, remit.RemitError)
