"""The ``remit`` command as the person reading a hint can run it.

Every command remit prints for a person to run next (``remit demo``, ``remit webhooks show 41``) must run
as printed. A fresh clone installs remit into ``.venv`` and ``./scripts/run`` starts it from there, so in a
second terminal ``remit`` is not on the PATH: a hint that says ``remit demo`` fails with "command not
found". Hints therefore name the command the way this shell can reach it: ``remit`` when that is on the PATH
and is this very installation, else the console script beside this interpreter, relative to the working
directory when it is below it (``.venv/bin/remit``, from the project root), else by its absolute path.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

NAME = "remit"


def remit_command(path: str | None = None, cwd: Path | None = None) -> str:
    """How to type the ``remit`` command here (``path``: the PATH to look in; ``cwd``: the working directory)."""
    script = Path(sys.executable).parent / NAME
    if not script.is_file():
        return NAME  # not a console-script installation (e.g. run with ``python -m``): the plain name
    found = shutil.which(NAME, path=path)
    if found is not None and os.path.samefile(found, script):
        return NAME
    here = (cwd or Path.cwd()).absolute()
    absolute = script.absolute()
    if absolute.is_relative_to(here):
        return str(absolute.relative_to(here))
    return str(absolute)


def command(*args: str) -> str:
    """``remit`` followed by ``args``, as :func:`remit_command` names it: ``command("webhooks list")``."""
    return " ".join([remit_command(), *args])


__all__ = ["NAME", "command", "remit_command"]
