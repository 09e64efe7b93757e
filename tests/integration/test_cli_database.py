"""Every CLI group meets a database that is down, missing or elsewhere the same way: one line naming the
database, exit 3, no traceback, and no empty database file left behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from remit.cli import app

runner = CliRunner()

#: One command of every group that needs the database, the fake processor's and the demo's included.
COMMANDS = [
    ["webhooks", "list"],
    ["webhooks", "show", "1"],
    ["webhooks", "replay", "--status", "dead", "--dry-run"],
    ["webhooks", "register", "--url", "http://127.0.0.1:9/webhooks/stripe"],
    ["webhooks", "check"],
    ["jobs", "list"],
    ["queues"],
    ["queues", "pause", "remit_webhooks"],
    ["fake", "trigger", "customer.created", "--url", "http://127.0.0.1:9"],
    ["fake", "clock", "show"],
    ["fake", "clock", "advance", "1d", "--url", "http://127.0.0.1:9"],
    ["fake", "fail", "--status", "500"],
    ["fake", "failures"],
    ["fake", "events"],
    ["fake", "deliver", "--url", "http://127.0.0.1:9"],
    ["demo", "--url", "http://127.0.0.1:9"],
    ["worker"],  # waits REMIT_DB_CONNECT_TIMEOUT (0 here) for the database first, then gives up the same way
]


@pytest.fixture(params=["postgresql", "sqlite"])
def unreachable(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A DATABASE_URL that cannot be used: a closed PostgreSQL port, a SQLite file in a missing directory."""
    if request.param == "postgresql":
        url, shown = "postgresql://postgres:hunter2@127.0.0.1:1/nowhere", "postgresql://postgres:***@127.0.0.1:1"
    else:
        url = f"sqlite:///{tmp_path}/missing-dir/remit.db"
        shown = f"{tmp_path}/missing-dir/remit.db"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("REMIT_ENV", "test")
    monkeypatch.setenv("REMIT_DB_CONNECT_TIMEOUT", "0")
    monkeypatch.delenv("REMIT_PROCESSOR", raising=False)
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET", raising=False)
    return shown


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")  # no thread traceback either
def test_every_group_answers_an_unusable_database_with_one_line_naming_it_and_exit_3(unreachable: str) -> None:
    for command in COMMANDS:
        result = runner.invoke(app, command)
        assert result.exit_code == 3, (command, result.output, result.exception)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1, (command, result.output)
        assert lines[0].startswith("error: database unavailable"), (command, result.output)
        assert unreachable in lines[0], (command, result.output)
        assert "hunter2" not in result.output
        assert "Traceback" not in result.output


def test_a_read_only_command_in_the_wrong_directory_creates_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("REMIT_ENV", "test")
    for command in (["webhooks", "list"], ["jobs", "list"], ["queues"], ["fake", "events"], ["fake", "clock", "show"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 3, (command, result.output)
        assert f"no database file at {tmp_path.resolve() / 'remit.db'}" in result.output
        assert "relative to the directory remit runs in" in result.output
    assert list(tmp_path.iterdir()) == []  # no remit.db, no -wal, no -shm


def test_a_usage_error_names_the_command_as_the_shell_reaches_it(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    script = Path(sys.executable).parent / "remit"
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # remit is not on the PATH, as in a fresh clone
    result = subprocess.run(
        [str(script), "jobs", "list", "--state", "BAD"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert f"Try '{script} jobs list --help'" in " ".join(result.stderr.split())
