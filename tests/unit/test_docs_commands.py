"""Every ``remit …`` command the documentation quotes is one remit has: its sub-commands exist, its options
are that command's options, and its ``--help`` answers. Scanned: the README and every page under ``docs/``
(runbooks included) — inline code and the lines of code blocks — and the first actions of the ops event catalog.

Notation the pages use is understood: ``a|b`` (either), ``[--json]`` (optional), ``NAME``/``ID`` placeholders,
``…``; a group named alone (``remit webhooks``) is the group. A command that would not parse is reported with
its page."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from remit.cli import app
from remit.telemetry.ops import CATALOG

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PREFIXES = ("remit ", ".venv/bin/remit ", "$ remit ")
_INLINE = re.compile(r"`([^`\n]+)`")
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def quoted_commands(text: str) -> Iterator[str]:
    """The ``remit …`` commands in a page's inline code and code blocks (one per line or span)."""
    for block in _FENCE.findall(text):
        for line in block.splitlines():
            yield from _commands_in(line.split(" #")[0])
    without_blocks = _FENCE.sub("", text)
    for span in _INLINE.findall(without_blocks):
        yield from _commands_in(span)


#: What follows ``remit`` in a command: a sub-command (or alternatives), an option, or nothing.
_COMMAND_START = re.compile(r"^(?:[a-z][a-z0-9-]*(?:\|[a-z][a-z0-9-]*)*|--?[a-z])")


def _commands_in(text: str) -> Iterator[str]:
    for piece in re.split(r";|&&|\|\|", text.replace("\\|", "|")):
        piece = piece.strip()
        for prefix in PREFIXES:
            if piece.startswith(prefix):
                rest = piece[len(prefix) :].strip()
                if _COMMAND_START.match(rest):  # not `remit <billing@…>`, a mail's From
                    yield "remit " + rest
                break


def is_group(command: Any) -> bool:
    """Typer's commands are its own click's: a group is whatever has sub-commands."""
    return isinstance(getattr(command, "commands", None), dict)


@cache
def root() -> Any:
    return typer.main.get_command(app)


def _tokens(command: str) -> list[str]:
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    return [word.strip("[]") for word in words[1:] if word.strip("[]") not in ("", "…", "...")]


def problems(command: str) -> list[str]:
    """Why ``command`` would not parse as written ([] when it would)."""
    current = root()
    path: list[str] = []
    tokens = _tokens(command)
    while tokens and is_group(current):
        alternatives = tokens[0].split("|")
        if all(name in current.commands for name in alternatives):
            tokens.pop(0)
            path.append(alternatives[0])
            for name in alternatives[1:]:
                sibling = current.commands[name]
                if _options_problems(sibling, tokens):
                    return [f"{' '.join([*path[:-1], name])}: {_options_problems(sibling, tokens)}"]
            current = current.commands[alternatives[0]]
            continue
        takes_arguments = any(param.param_type_name == "argument" for param in current.params)
        if not tokens[0].startswith("-") and not takes_arguments:
            return [f"no command {tokens[0]!r} under `remit {' '.join(path)}`".replace("remit `", "remit`")]
        break
    found = _options_problems(current, tokens)
    if found:
        return [f"remit {' '.join(path)}: {found}"]
    if not help_answers(tuple(path)):
        return [f"remit {' '.join(path)} --help fails"]
    return []


def _options_problems(command: Any, tokens: list[str]) -> str | None:
    known = {opt for param in command.params for opt in [*param.opts, *param.secondary_opts]} | {"--help"}
    for token in tokens:
        for option in token.split("|"):
            if option.startswith("--") and option.split("=")[0] not in known:
                return f"no option {option.split('=')[0]}"
    return None


@cache
def help_answers(path: tuple[str, ...]) -> bool:
    return CliRunner().invoke(app, [*path, "--help"]).exit_code == 0


def documented() -> list[tuple[str, str]]:
    found = []
    for page in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]:
        for command in quoted_commands(page.read_text()):
            found.append((str(page.relative_to(ROOT)), command))
    for spec in CATALOG.values():
        for command in _commands_in(spec.first_action):
            found.append((f"ops catalog: {spec.name}", command))
    return found


def test_the_docs_quote_remit_commands() -> None:
    pages = {page for page, _ in documented()}
    assert len(documented()) > 50
    assert {"README.md", "docs/operations.md", "docs/runbooks/webhook-dlq-dead-lettered.md"} <= pages


def test_every_quoted_remit_command_parses() -> None:
    broken = [(page, command, problems(command)) for page, command in documented() if problems(command)]
    assert broken == []


@pytest.mark.parametrize(
    "command",
    [
        "remit webhooks replya 41",
        "remit webhooks list --stauts dead",
        "remit flag list",
        "remit stop --everything",
        "remit queues pause|resmue NAME",
    ],
)
def test_a_misquoted_command_is_caught(command: str) -> None:
    assert problems(command) != []


@pytest.mark.parametrize(
    "command",
    [
        "remit webhooks replay 41",
        "remit webhooks list --status dead --json",
        "remit queues",
        "remit queues pause|resume NAME",
        "remit stop --all|--queue NAME",
        "remit flags set billing on|off",
    ],
)
def test_a_well_quoted_command_passes(command: str) -> None:
    assert problems(command) == []
