"""The repository runs from a fresh clone with nothing beside it: no absolute machine path, no read outside it,
and nothing it needs is quietly skipped when missing (a fixture, or a module that fails to import).

Every file git would commit (tracked, or new and not ignored) is searched, except this one, which spells the
patterns out; the copied Stripe fixtures are data written by others and are searched all the same.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.support.fixtures import STRIPE_FIXTURES, stripe_fixture, stripe_fixtures

ROOT = Path(__file__).resolve().parents[2]

#: A path on one machine (``/work/…``, a home directory) or a read of a folder beside the repository.
OUTSIDE = re.compile(
    r"""/work/|/home/|/Users/|/root/|\.\./shared\b|["']shared["']\s*/|parents\[\d+\]\s*/\s*["']shared"""
)


def repository_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    paths = [ROOT / name for name in listed.split("\0") if name]
    return [path for path in paths if path.is_file() and path != Path(__file__).resolve()]


def committable_names() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name]


def test_no_committable_symlink_points_outside_the_repository() -> None:
    """A committed ``.venv`` symlink to another checkout's venv made a fresh clone's ``./scripts/run`` reinstall
    remit, editable, into that other checkout's venv — pointing it at the clone's sources."""
    outside = [
        name
        for name in committable_names()
        if (ROOT / name).is_symlink() and not (ROOT / name).resolve().is_relative_to(ROOT)
    ]
    assert outside == []


@pytest.mark.parametrize("name", [".venv", "remit.db"])
def test_the_virtual_environment_and_the_database_are_ignored_whether_directory_or_symlink(name: str) -> None:
    """``.venv/`` (with the slash) matches only a directory: a ``.venv`` symlink slipped past it into a commit."""
    ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", name], cwd=ROOT, check=False)
    assert ignored.returncode == 0, f"{name} is not ignored by .gitignore"


def test_no_file_names_an_absolute_machine_path_or_a_folder_beside_the_repository() -> None:
    files = repository_files()
    assert len(files) > 100, "git listed too few files: is this the repository?"
    offending = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                offending.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert offending == []


def test_the_pattern_catches_what_it_is_for() -> None:
    caught = [
        'FIXTURES = Path("/work/shared/fixtures/stripe")',
        'Path(__file__).resolve().parents[3] / "shared" / "fixtures"',
        "see ../shared/fixtures/stripe",
        "/home/someone/remit/.venv",
    ]
    assert all(OUTSIDE.search(line) for line in caught)
    assert not OUTSIDE.search('STRIPE_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "stripe"')


def test_the_fixtures_are_in_the_repository_with_their_sources_and_licences() -> None:
    assert STRIPE_FIXTURES.is_relative_to(ROOT)
    sources = (STRIPE_FIXTURES / "SOURCES.md").read_text()
    for path in sorted(STRIPE_FIXTURES.glob("*.json")):
        assert f"| {path.name} |" in sources, f"{path.name} has no line in SOURCES.md"
    licences = {path.name for path in (STRIPE_FIXTURES / "LICENSES").iterdir()}
    assert {"stripe-ruby-mock.LICENSE.txt", "stripe-cli.LICENSE.txt", "dj-stripe.LICENSE.txt"} <= licences


def test_a_missing_fixture_is_an_error_not_a_skip() -> None:
    with pytest.raises(FileNotFoundError, match=r"no-such-source__nothing\.json"):
        stripe_fixture("no-such-source__nothing.json")
    with pytest.raises(FileNotFoundError, match="no-such-source"):
        stripe_fixtures("no-such-source__*.json")


def test_no_test_turns_an_import_error_into_a_skip() -> None:
    """``pytest.importorskip`` would report a broken import of remit's own code as a skipped module."""
    users = [
        str(path.relative_to(ROOT))
        for path in repository_files()
        if path.suffix == ".py" and "importorskip(" in path.read_text(encoding="utf-8")
    ]
    assert users == []
