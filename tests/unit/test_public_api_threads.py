"""``import remit`` resolves its names on first use (PEP 562): threads that read them for the first time at
once — a threaded host whose handlers call ``remit.create_customer`` — must each get the name, not an
``ImportError`` from two threads importing ``remit.jobs``'s modules into each other (a ``_DeadlockError`` that
importlib breaks by handing one a partially initialised module)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

RACE = """
import json, random, sys, threading
import remit

names = list(remit.__all__)
random.Random(int(sys.argv[1])).shuffle(names)
errors = []
barrier = threading.Barrier(8)

def read_all(offset: int) -> None:
    order = names[offset:] + names[:offset]
    barrier.wait()
    for name in order:
        try:
            getattr(remit, name)
        except Exception as exc:
            errors.append(f"{name}: {exc!r}")

threads = [threading.Thread(target=read_all, args=(i * 7,)) for i in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(errors))
"""


@pytest.mark.parametrize("seed", range(6))
def test_threads_reading_remits_names_first_all_get_them(seed: int) -> None:
    ran = subprocess.run([sys.executable, "-c", RACE, str(seed)], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == []
