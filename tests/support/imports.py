"""Which modules a real ``remit`` process imports: Python's own import log (``PYTHONPROFILEIMPORTTIME``).

The log names every module the moment it is first imported, on stderr, one ``import time:`` line each, so a
test can run the very console script an operator runs and read what it loaded — no hook inside the process.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Run:
    """One finished process: its exit status, its output, the modules it imported, and their top-level
    packages."""

    returncode: int
    stdout: str
    stderr: str
    imported: frozenset[str]

    @property
    def modules(self) -> frozenset[str]:
        return frozenset(name.split(".")[0] for name in self.imported)


def imported_modules(log: str) -> frozenset[str]:
    """The modules in an import log (``import time: self | cumulative | <indented dotted name>``)."""
    names = set()
    for line in log.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name and name != "imported package":  # the header line
                names.add(name)
    return frozenset(names)


def run_logging_imports(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 120
) -> Run:
    """Run ``argv`` with Python's import log on; the log is taken out of the stderr it returns."""
    environ = {**(os.environ if env is None else env), "PYTHONPROFILEIMPORTTIME": "1"}
    result = subprocess.run(argv, cwd=cwd, env=environ, capture_output=True, text=True, timeout=timeout)
    stderr = "\n".join(line for line in result.stderr.splitlines() if not line.startswith("import time:"))
    return Run(result.returncode, result.stdout, stderr, imported_modules(result.stderr))
