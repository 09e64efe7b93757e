"""The ``remit`` command in printed hints, as the reader's shell reaches it."""

from __future__ import annotations

import sys
from pathlib import Path

from remit.cli.hints import command, remit_command

SCRIPT = Path(sys.executable).parent / "remit"


def test_off_the_path_a_hint_names_the_script_relative_to_the_project_root() -> None:
    root = SCRIPT.parent.parent.parent  # .venv/bin/remit -> the directory holding .venv
    assert remit_command(path="/nonexistent", cwd=root) == str(SCRIPT.absolute().relative_to(root.absolute()))
    assert remit_command(path="/nonexistent", cwd=root).endswith("bin/remit")


def test_from_elsewhere_a_hint_names_the_script_by_its_absolute_path(tmp_path: Path) -> None:
    assert remit_command(path="/nonexistent", cwd=tmp_path) == str(SCRIPT.absolute())


def test_on_the_path_a_hint_says_remit() -> None:
    assert remit_command(path=str(SCRIPT.parent)) == "remit"


def test_another_remit_on_the_path_is_not_this_one(tmp_path: Path) -> None:
    other = tmp_path / "remit"
    other.write_text("#!/bin/sh\n")
    other.chmod(0o755)
    assert remit_command(path=str(tmp_path), cwd=tmp_path) == str(SCRIPT.absolute())


def test_command_joins_the_arguments() -> None:
    assert command("webhooks list").endswith("remit webhooks list")
