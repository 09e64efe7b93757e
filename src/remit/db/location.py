"""Where a database URL points, said so a person can check it: a SQLite file by its absolute path, a server
URL with its password hidden.

The default ``DATABASE_URL`` (``sqlite:///./remit.db``) is relative to the working directory, so the same
command run from two directories reads two databases. Everything that tells a person which database it
used — ``remit up``'s banner, ``remit doctor``, every CLI error — names it with :func:`describe`, and
commands that only read refuse a SQLite file that does not exist (:func:`sqlite_path`) instead of creating an
empty one beside the real one.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

_MEMORY = {"", ":memory:"}


def sqlite_path(url: str, cwd: Path | None = None) -> Path | None:
    """The absolute path of the SQLite file ``url`` names (relative paths against ``cwd``, default the
    working directory); None for an in-memory SQLite database or another dialect."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in _MEMORY or database.startswith("file:") or parsed.query.get("mode") == "memory":
        return None
    path = Path(database).expanduser()
    if not path.is_absolute():
        path = (cwd or Path.cwd()) / path
    return path.resolve()


def describe(url: str, cwd: Path | None = None) -> str:
    """``sqlite file /abs/path/remit.db``, ``sqlite in memory``, or the URL with its password hidden."""
    path = sqlite_path(url, cwd)
    if path is not None:
        return f"sqlite file {path}"
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return "sqlite in memory"
    return parsed.render_as_string(hide_password=True)


def missing_sqlite_file(url: str, cwd: Path | None = None) -> Path | None:
    """The SQLite file ``url`` names when it does not exist yet (opening it would create an empty one)."""
    path = sqlite_path(url, cwd)
    return path if path is not None and not path.exists() else None


__all__ = ["describe", "missing_sqlite_file", "sqlite_path"]
