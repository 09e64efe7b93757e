"""CLI commands that read standard input, run as a newcomer runs them: a real ``remit`` process."""

from __future__ import annotations

import subprocess

from tests.support.processes import REMIT, ROOT


def test_hash_password_with_stdin_closed_says_so_in_one_line() -> None:
    real = subprocess.run(
        [REMIT, "admin", "hash-password"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert real.returncode == 2
    assert real.stdout == ""
    assert real.stderr.startswith("error: no password on standard input")
    assert len(real.stderr.strip().splitlines()) == 1
    assert "Traceback" not in real.stderr
