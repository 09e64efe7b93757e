"""A host's type checker still sees remit's public API exactly: ``import remit`` resolves its names lazily
(PEP 562 ``__getattr__``), and a ``__getattr__`` mypy can see makes every unknown name of the module ``Any`` — a
host's ``from remit import on_evnt`` would pass ``mypy --strict`` and fail only when it runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HOST_MODULE = """
import remit
from remit import JobDefinition, on_evnt

reveal_type(JobDefinition)
settings = remit.Settingz
"""


def test_mypy_rejects_a_name_remit_does_not_export(tmp_path: Path) -> None:
    host = tmp_path / "host.py"
    host.write_text(HOST_MODULE)
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--config-file", "", str(host)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    out = checked.stdout
    assert 'Module "remit" has no attribute "on_evnt"' in out, out
    assert 'Module has no attribute "Settingz"' in out, out
    assert "remit.jobs.definition.JobDefinition" in out, out  # the real names keep their types
    assert checked.returncode == 1, out
