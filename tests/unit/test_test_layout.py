"""The test tree's own layout: helpers that several tests share live in ``tests/support/``.

A test module that imports from another one runs (or at least imports) that module's tests, fixtures and
module-level set-up as a side effect, ties two unrelated tests together and hides the helper where nobody looks
for it. So no module under ``tests/`` imports a ``test_*`` module, absolutely or relatively, and what a test
module takes from ``tests.*`` comes from ``tests.support`` (pytest's ``conftest.py`` files give fixtures).
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent


def module_name(path: Path) -> str:
    """``tests/e2e/test_up.py`` → ``tests.e2e.test_up`` (``__init__.py`` names its package)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, importer: str, *, is_package: bool = False) -> list[tuple[int, str]]:
    """``(line, absolute module name)`` for every module ``source`` imports, or imports a name from.

    ``from X import a`` counts as ``X`` and as ``X.a`` (``a`` may be a submodule: ``from tests.e2e import
    test_up``); relative imports are resolved against ``importer``.
    """
    package = importer if is_package else importer.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return found


def forbidden(module: str) -> bool:
    """Whether a module under ``tests/`` may not import ``module``: a test module, or (outside
    ``tests.support``) anything of the test tree but the support package."""
    parts = module.split(".")
    if parts[0] != "tests":
        return False
    if any(part.startswith("test_") for part in parts):
        return True
    return len(parts) > 1 and parts[1] != "support"


def offences(path: Path) -> list[str]:
    """``file:line: imports module`` for each import statement of ``path`` that breaks the rule (once per line)."""
    importer = module_name(path)
    found: dict[int, str] = {}
    for line, module in imported_modules(path.read_text(), importer, is_package=path.name == "__init__.py"):
        if forbidden(module):
            found.setdefault(line, module)
    return [f"{path.relative_to(ROOT)}:{line}: imports {module}" for line, module in sorted(found.items())]


def test_no_module_of_the_test_tree_imports_a_test_module_or_a_helper_outside_support() -> None:
    paths = sorted(TESTS.rglob("*.py"))
    assert len(paths) > 100  # the walk found the test tree
    assert [offence for path in paths for offence in offences(path)] == []


def test_the_check_would_catch_each_way_of_importing_another_test_module() -> None:
    def caught(source: str, importer: str = "tests.e2e.test_demo") -> bool:
        return any(forbidden(module) for _, module in imported_modules(source, importer))

    assert caught("from tests.e2e.test_up import free_port")
    assert caught("from tests.e2e import test_up")
    assert caught("import tests.unit.test_projection_fixtures as fixtures")
    assert caught("from .test_up import free_port")
    assert caught("from . import test_up")
    assert caught("from ..unit.test_projection_fixtures import fixture_events")
    assert caught("from tests.e2e.workers import REMIT")  # a helper module outside tests/support
    assert caught("def f():\n    from tests.integration.test_doctor import add_live_worker\n")
    assert not caught("from tests.support.processes import free_port", importer="tests.support.jobs")
    assert not caught("from tests.support.processes import free_port")
    assert not caught("from tests.support import jobs as support_jobs")
    assert not caught("import json\nfrom remit.cli import app")
