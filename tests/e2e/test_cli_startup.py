"""A ``remit`` command imports what it uses, not the whole of remit: the start-up every operator and every
end-to-end test pays for each command. Behaviour, not timing (the figures are ``bench/cli_startup.py``'s): a
real ``remit`` process, and the modules Python's import log says it loaded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.imports import run_logging_imports
from tests.support.processes import REMIT, ROOT, clean_env

#: What only some commands need: the HTTP service (FastAPI, Starlette, uvicorn), migrations (Alembic), the
#: Stripe SDK, the PDF engine (WeasyPrint), the templates of mails and invoices (Jinja2), the admin page's
#: sessions, password hashes and rate limits, and (on SQLite) the PostgreSQL driver.
LAZY = {
    "fastapi",
    "starlette",
    "uvicorn",
    "alembic",
    "stripe",
    "weasyprint",
    "argon2",
    "bcrypt",
    "itsdangerous",
    "limits",
    "psycopg",
    "jinja2",
}


def test_help_imports_nothing_heavy(tmp_path: Path) -> None:
    run = run_logging_imports([REMIT, "--help"], cwd=tmp_path, env=clean_env(f"sqlite:///{tmp_path}/remit.db"))
    assert run.returncode == 0, run.stderr
    for group in ("jobs", "webhooks", "admin", "golive", "up", "migrate"):  # the groups are still listed
        assert group in run.stdout
    assert "typer" in run.modules  # the log is read at all
    assert run.modules & LAZY == set()
    assert "aiosqlite" not in run.modules  # nor the database driver: help opens no database


@pytest.mark.parametrize("group", ["jobs", "webhooks", "mail", "fake", "admin", "up", "provisioning", "usage"])
def test_a_group_help_imports_nothing_heavy(group: str, tmp_path: Path) -> None:
    run = run_logging_imports([REMIT, group, "--help"], cwd=tmp_path, env=clean_env(f"sqlite:///{tmp_path}/r.db"))
    assert run.returncode == 0, run.stderr
    assert "Usage:" in run.stdout
    assert run.modules & LAZY == set()


def test_a_read_command_imports_the_engine_but_nothing_else_heavy(tmp_path: Path, sqlite_template: Path) -> None:
    database = tmp_path / "remit.db"
    shutil.copy(sqlite_template, database)
    run = run_logging_imports([REMIT, "jobs", "list", "--json"], cwd=ROOT, env=clean_env(f"sqlite:///{database}"))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
    assert "sqlalchemy" in run.modules
    assert run.modules & LAZY == set()
    # The fake processor is built (the runtime's), its operations and routes are not: nothing called it.
    assert "remit.processor.fake.engine" in run.imported
    assert not any(
        name.startswith(("remit.processor.fake.routes", "remit.processor.fake.ops")) for name in run.imported
    )
