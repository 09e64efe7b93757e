"""``remit flags list|set`` and ``remit stop|start``, as an operator types them, on both databases."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from remit.cli import app

Invoke = Callable[..., Result]


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("REMIT_FLAG_BILLING", raising=False)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args))

    return invoke


def _flags(cli: Invoke) -> dict[str, dict[str, Any]]:
    result = cli("flags", "list", "--json")
    assert result.exit_code == 0, result.output
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_flags_list_prints_one_json_array_naming_each_flags_source(cli: Invoke) -> None:
    rows = _flags(cli)
    assert list(rows) == ["billing", "origin_guard"]
    assert rows["billing"] | {"updated_at": None} == {
        "name": "billing",
        "enabled": True,
        "source": "environment",
        "variable": "REMIT_FLAG_BILLING",
        "updated_at": None,
        "updated_by": None,
    }


def test_flags_set_switches_for_every_process_and_says_so(cli: Invoke, ops_events: list[Any]) -> None:
    result = cli("flags", "set", "billing", "off", "--actor", "operator:ada")
    assert result.exit_code == 0, result.output
    assert "flag billing switched off" in result.stdout
    assert "flags set billing on" in result.stdout  # the way back, as a command
    rows = _flags(cli)
    assert (rows["billing"]["enabled"], rows["billing"]["source"], rows["billing"]["updated_by"]) == (
        False,
        "database",
        "operator:ada",
    )
    again = cli("flags", "set", "billing", "off", "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["changed"] is False
    assert [meta["enabled"] for name, meta in ops_events if name == "billing_switched"] == [False]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("flags", "set", "nosuch", "on"), "no flag 'nosuch'; the flags are: billing, origin_guard"),
        (("flags", "set", "billing", "maybe"), "a flag is set to on or off, not 'maybe'"),
        (("stop",), "takes either --all or --queue NAME"),
        (("stop", "--all", "--queue", "remit_mailers"), "takes either --all or --queue NAME"),
        (("start", "--queue", "nosuch"), "no queue 'nosuch'; the queues are:"),
    ],
)
def test_usage_errors_exit_2_naming_what_is_wrong(cli: Invoke, args: tuple[str, ...], message: str) -> None:
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_stop_all_then_start_all(cli: Invoke, ops_events: list[Any]) -> None:
    stopped = cli("stop", "--all", "--actor", "operator:ada")
    assert stopped.exit_code == 0, stopped.output
    assert "emergency stop:" in stopped.stdout
    assert "queue(s) paused" in stopped.stdout
    assert "start --all" in stopped.stdout
    rows = _flags(cli)
    assert rows["emergency_stop"]["updated_by"] == "operator:ada"
    queues = json.loads(cli("queues", "--json").stdout)
    assert all(queue["paused"] for queue in queues)

    started = cli("start", "--all", "--json")
    assert started.exit_code == 0, started.output
    outcome = json.loads(started.stdout)
    assert (outcome["action"], outcome["scope"]) == ("start", "all")
    assert sorted(outcome["queues"]) == sorted(queue["name"] for queue in queues)
    assert not any(queue["paused"] for queue in json.loads(cli("queues", "--json").stdout))
    assert "emergency_stop" not in _flags(cli)
    assert [meta["action"] for name, meta in ops_events if name == "emergency_stop"] == ["stop", "start"]


def test_stop_one_queue_names_the_command_that_resumes_it(cli: Invoke) -> None:
    result = cli("stop", "--queue", "remit_mailers")
    assert result.exit_code == 0, result.output
    assert "queue remit_mailers stopped" in result.stdout
    assert "start --queue remit_mailers" in result.stdout
    paused = {queue["name"]: queue["paused"] for queue in json.loads(cli("queues", "--json").stdout)}
    assert paused["remit_mailers"] is True
    assert paused["remit_webhooks"] is False
