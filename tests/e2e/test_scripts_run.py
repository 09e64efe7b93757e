"""``./scripts/run`` as a newcomer starts it: it prints a development token for the read API, and that token
opens the API the demo's ``curl`` lines call; the admin page is where it says, off as it says (its hint
makes a hash), and every command on its ``billing`` line runs as printed, from the project root."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.processes import READY, ROOT, START_TIMEOUT_S, Lines, clean_env, free_port, side_by_side, stop

pytestmark = pytest.mark.slow

TOKEN_LINE = re.compile(r"^  export TOKEN=(\S+)$")


def test_scripts_run_prints_a_development_token_the_read_api_accepts(tmp_path: Path) -> None:
    env = clean_env(f"sqlite:///{tmp_path / 'remit.db'}")
    env.update(PYTHONUNBUFFERED="1", REMIT_LOG_LEVEL="WARNING")
    port = free_port()
    proc = subprocess.Popen(
        [str(ROOT / "scripts" / "run"), "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    try:
        out = Lines(proc.stdout)
        token = out.wait_for(TOKEN_LINE, START_TIMEOUT_S).group(1)
        base_url = out.wait_for(READY, START_TIMEOUT_S).group(1)
        api = f"{base_url}/api/v1/billing/customers"
        assert httpx.get(api, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
        assert httpx.get(api, timeout=10).status_code == 401
        where = out.wait_for(r"^  database (.*)$", 5).group(1)
        assert where == f"sqlite file {tmp_path.resolve() / 'remit.db'}"

        admin = out.wait_for(
            r"^  admin    (\S+) \(off until REMIT_ADMIN_PASSWORD_HASH is set: (.+); docs/admin.md\)$", 5
        )
        page = httpx.get(admin.group(1), timeout=10)
        assert page.status_code == 503
        assert "REMIT_ADMIN_PASSWORD_HASH" in page.text
        hashed = subprocess.run(
            ["bash", "-c", admin.group(2)],
            input="a long enough password\n",
            env=env,
            cwd=ROOT,  # scripts/run runs remit from the project root: its hints run there
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert hashed.returncode == 0, hashed.stderr
        assert hashed.stdout.startswith("$argon2id$")
        billing = out.wait_for(r"^  billing  (.*)$", 5).group(1).split(" · ")
        assert [line.split()[-2:] for line in billing] == [
            ["dunning", "list"],
            ["provisioning", "list"],
            ["usage", "list"],
        ]
        results = side_by_side(
            *[
                lambda line=line: subprocess.run(
                    ["bash", "-c", line], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
                )
                for line in billing
            ]
        )
        for line, ran in zip(billing, results, strict=True):
            assert ran.returncode == 0, (line, ran.stdout, ran.stderr)
    finally:
        assert stop(proc) == 0  # scripts/run execs remit up: the signal reaches it
