"""docs/configuration.md lists exactly the variables of remit.config.Settings, with the code's defaults."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from remit.config import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def documented_variables(text: str) -> dict[str, str]:
    """Variable → default cell of the table under the ``## Variables`` heading."""
    section = text.split("\n## Variables\n", 1)[1]
    section = re.split(r"\n## ", section, maxsplit=1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        name = cells[0].strip("`")
        assert name not in rows, f"{name} is listed twice"
        rows[name] = cells[1].strip("`")
    return rows


def render_default(value: Any) -> str:
    """How the page writes a default."""
    if value is None:
        return "(unset)"
    if value in ("", []):
        return "(empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):  # a comma-separated variable, written as it is set
        return ",".join(str(item) for item in value)
    return str(value)


def code_variables() -> dict[str, str]:
    variables = {}
    for field in Settings.model_fields.values():
        default = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
        variables[str(field.alias)] = render_default(default)
    return variables


@pytest.fixture(scope="module")
def documented() -> dict[str, str]:
    return documented_variables(DOC.read_text(encoding="utf-8"))


def test_every_variable_in_the_code_is_documented(documented: dict[str, str]) -> None:
    missing = sorted(set(code_variables()) - set(documented))
    assert not missing, f"add to docs/configuration.md: {missing}"


def test_every_documented_variable_exists_in_the_code(documented: dict[str, str]) -> None:
    stale = sorted(set(documented) - set(code_variables()))
    assert not stale, f"documented but not read by remit.config.Settings: {stale}"


def test_documented_defaults_match_the_code(documented: dict[str, str]) -> None:
    code = code_variables()
    wrong = {
        name: (documented[name], code[name]) for name in code if name in documented and documented[name] != code[name]
    }
    assert not wrong, f"(documented, code) defaults disagree: {wrong}"


def test_the_parser_sees_drift() -> None:
    """The checks above would catch a renamed variable or a changed default."""
    text = DOC.read_text(encoding="utf-8")
    drifted = documented_variables(text.replace("| `REMIT_JOB_BATCH_SIZE` | `100` |", "| `REMIT_JOB_BATCH` | `50` |"))
    assert "REMIT_JOB_BATCH_SIZE" not in drifted
    assert drifted["REMIT_JOB_BATCH"] == "50"
    assert documented_variables(text)["REMIT_JOB_BATCH_SIZE"] == code_variables()["REMIT_JOB_BATCH_SIZE"]
