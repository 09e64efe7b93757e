"""What ``remit … --help`` shows a person: plain text, and the accepted values of every closed option."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer.main

from remit.cli import app
from remit.jobs.states import JobState
from remit.webhooks.events import EventStatus

ROLE = re.compile(r":(func|mod|class|meth|data|attr):`")


def commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every command under ``group`` by its full name (Typer's Click is its own copy: duck-typed)."""
    yield " ".join(("remit", *path)), group
    for name, sub in getattr(group, "commands", {}).items():
        yield from commands(sub, (*path, name))


ALL = list(commands(typer.main.get_command(app)))


def help_texts(command: Any) -> Iterator[str]:
    yield command.help or ""
    yield command.short_help or ""
    for param in command.params:
        yield getattr(param, "help", None) or ""


@pytest.mark.parametrize(("name", "command"), ALL, ids=[name for name, _ in ALL])
def test_help_has_no_raw_restructured_text(name: str, command: Any) -> None:
    for text in help_texts(command):
        assert "``" not in text, (name, text)
        assert not ROLE.search(text), (name, text)


def option_help(path: str, option: str) -> str:
    command = dict(ALL)[path]
    return next(p.help or "" for p in command.params if option in getattr(p, "opts", ()))


def test_status_and_state_options_list_their_accepted_values() -> None:
    for status in EventStatus:
        assert status.value in option_help("remit webhooks list", "--status")
    assert "dead" in option_help("remit webhooks replay", "--status")
    assert "failed" in option_help("remit webhooks replay", "--status")
    for state in JobState:
        assert state.value in option_help("remit jobs list", "--state")
    for value in ("pending", "delivered", "failed"):
        assert value in option_help("remit fake events", "--status")
    for value in ("429", "500", "timeout"):
        assert value in option_help("remit fake fail", "--status")
