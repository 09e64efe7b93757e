"""How long a ``remit`` command takes to start, beside the interpreter's own floor, in one run.

Every figure is a fresh process, timed from spawn to exit, the median of ``--runs`` (after one unmeasured
warm-up run that fills the page cache and writes bytecode). Side by side:

- ``python_pass``: ``python -c pass`` — the interpreter's floor on this machine now;
- ``import_sqlalchemy``: ``python -c 'import sqlalchemy.ext.asyncio'`` — the peer floor of any command that
  opens the database, which every read command does;
- ``remit_help``: ``remit --help``;
- ``remit_jobs_list``: ``remit jobs list --json`` against a fresh, migrated SQLite file (a real read command).

Each process's CPU time (user + system, from ``wait4``) is reported too: on a loaded, shared machine the wall
time includes waiting for a core, the CPU time much less so. ``--cpu`` pins the children to one core
(``taskset -c``, default 0, as the brief for this repository asks). The last line is one JSON object:

```
{"remit_bytecode_cached": …, "python_pass_ms": …, "import_sqlalchemy_ms": …, "remit_help_ms": …,
 "remit_jobs_list_ms": …, "…_cpu_ms": …}
```
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = sys.executable
REMIT = str(Path(sys.executable).with_name("remit"))


def timed(argv: list[str], *, env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one process running ``argv`` to completion (it must exit 0)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {stderr.decode(errors='replace')[-800:]}")
    return wall, usage.ru_utime + usage.ru_stime


def measure(argv: list[str], runs: int, *, env: dict[str, str], cwd: Path) -> tuple[float, float, float, float]:
    """Median wall and CPU milliseconds over ``runs`` (after one warm-up), with the wall times' min and max."""
    timed(argv, env=env, cwd=cwd)
    samples = [timed(argv, env=env, cwd=cwd) for _ in range(runs)]
    walls = [wall * 1000 for wall, _ in samples]
    cpus = [cpu * 1000 for _, cpu in samples]
    return statistics.median(walls), statistics.median(cpus), min(walls), max(walls)


def bytecode_cached() -> bool:
    """Whether remit's own modules have cached bytecode (``__pycache__``) for the children to load. Without it
    (an editable install under ``PYTHONDONTWRITEBYTECODE=1``, which never writes it) every start compiles each
    remit module it imports, so the figures include that compilation."""
    spec = importlib.util.find_spec("remit.cli")
    if spec is None or spec.origin is None:
        return False
    return Path(importlib.util.cache_from_source(spec.origin)).exists()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="measured runs per command (default 5)")
    parser.add_argument("--cpu", default="0", help="the core to pin the children to (taskset -c); '' for none")
    args = parser.parse_args()

    pin = ["taskset", "-c", args.cpu] if args.cpu and shutil.which("taskset") else []
    workdir = Path(tempfile.mkdtemp(prefix="remit-bench-cli-"))
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REMIT_", "STRIPE_")) and k != "DATABASE_URL"}
        env.update(DATABASE_URL=f"sqlite:///{workdir / 'remit.db'}", REMIT_ENV="test", REMIT_LOG_LEVEL="WARNING")
        subprocess.run([REMIT, "migrate"], env=env, cwd=workdir, check=True, capture_output=True)  # not timed

        cases = {
            "python_pass": [PYTHON, "-c", "pass"],
            "import_sqlalchemy": [PYTHON, "-c", "import sqlalchemy.ext.asyncio"],
            "remit_help": [REMIT, "--help"],
            "remit_jobs_list": [REMIT, "jobs", "list", "--json"],
        }
        figures: dict[str, float | bool] = {"remit_bytecode_cached": bytecode_cached()}
        print(
            f"remit's bytecode cached: {figures['remit_bytecode_cached']} "
            f"(PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}); "
            f"python {sys.version.split()[0]}, load {os.getloadavg()[0]:.2f}"
        )
        print(f"{'command':<42} {'wall ms':>9} {'cpu ms':>9} {'min-max wall':>16}   (median of {args.runs})")
        for name, argv in cases.items():
            wall, cpu, low, high = measure([*pin, *argv], args.runs, env=env, cwd=workdir)
            figures[f"{name}_ms"] = round(wall, 1)
            figures[f"{name}_cpu_ms"] = round(cpu, 1)
            shown = " ".join(Path(argv[0]).name if i == 0 else part for i, part in enumerate(argv))
            print(f"{shown:<42} {wall:>9.0f} {cpu:>9.0f} {low:>7.0f}-{high:<8.0f}")
        floor = float(figures["python_pass_cpu_ms"])
        print(
            f"CPU over the interpreter's floor: remit --help +{float(figures['remit_help_cpu_ms']) - floor:.0f} ms, "
            f"remit jobs list +{float(figures['remit_jobs_list_cpu_ms']) - floor:.0f} ms "
            f"(import sqlalchemy alone +{float(figures['import_sqlalchemy_cpu_ms']) - floor:.0f} ms); "
            f"load {os.getloadavg()[0]:.2f}"
        )
        print(json.dumps(figures))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
