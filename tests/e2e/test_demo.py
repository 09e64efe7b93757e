"""The main job on a fresh machine, as real processes: ``remit up`` on SQLite with the fake processor, then
``remit demo`` against it — the mirror, the ledger and the dead-letter queue fill, and the printed fix and
replay empty the dead-letter queue again."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.test_up import READY, START_TIMEOUT_S, free_port, remit_process, stop
from tests.e2e.workers import REMIT, clean_env

TOKEN = "e2e-demo-token"


def sandbox_env(db_url: str) -> dict[str, str]:
    """What ``./scripts/run`` gives ``remit up``: remit's defaults (no host modules, so the sandbox plays the
    host), plus a read-API token for the checks."""
    env = clean_env(db_url)
    env.update(PYTHONUNBUFFERED="1", REMIT_LOG_FORMAT="json", REMIT_SERVICE_TOKENS=TOKEN)
    return env


def cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([REMIT, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def listed(env: dict[str, str], cwd: Path, *args: str) -> list[dict[str, Any]]:
    result = cli(env, cwd, *args, "--json")
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def shown(env: dict[str, str], cwd: Path, row_id: int) -> dict[str, Any]:
    result = cli(env, cwd, "webhooks", "show", str(row_id), "--json")
    assert result.returncode == 0, result.stderr
    event: dict[str, Any] = json.loads(result.stdout)
    return event


def test_up_then_demo_fills_mirror_ledger_and_dead_letters_and_the_fix_replays_them(tmp_path: Path) -> None:
    env = sandbox_env(f"sqlite:///{tmp_path / 'remit.db'}")
    port = free_port()
    with remit_process("up", "--port", str(port), env=env, cwd=tmp_path) as (proc, out, _err):
        base_url = out.wait_for(READY, START_TIMEOUT_S).group(1)
        out.wait_for("sandbox", 5)

        demo = cli(env, tmp_path, "demo", "--url", base_url)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "webhooks sent" in demo.stdout
        assert "remit webhooks list --status dead" in demo.stdout

        dead = listed(env, tmp_path, "webhooks", "list", "--status", "dead")
        assert [row["type"] for row in dead] == ["customer.subscription.created"]
        assert f"remit webhooks show {dead[0]['id']}" in demo.stdout
        failed_or_received = [
            row for row in listed(env, tmp_path, "webhooks", "list") if row["status"] not in ("processed", "dead")
        ]
        assert failed_or_received == []

        auth = {"Authorization": f"Bearer {TOKEN}"}
        customers = httpx.get(f"{base_url}/api/v1/billing/customers?limit=100", headers=auth, timeout=10).json()
        charges = httpx.get(f"{base_url}/api/v1/billing/charges?limit=100", headers=auth, timeout=10).json()
        assert len(customers["data"]) >= 6
        assert any(charge["refunded"] or charge.get("amount_refunded") for charge in charges["data"])
        assert any(charge.get("disputed") for charge in charges["data"])

        # The fix the demo printed, then the replay: nothing is left dead.
        fix = next(line.strip() for line in demo.stdout.splitlines() if "metadata[seats]" in line)
        subscription_id = fix.split("/subscriptions/")[1].split()[0]
        fixed = httpx.post(
            f"{base_url}/fake/v1/subscriptions/{subscription_id}",
            headers={"Authorization": "Bearer sk_test_demo"},
            data={"metadata[seats]": "12"},
            timeout=10,
        )
        assert fixed.status_code == 200, fixed.text
        replay = cli(env, tmp_path, "webhooks", "replay", "--status", "dead")
        assert replay.returncode == 0, replay.stderr
        deadline = time.monotonic() + 30
        while shown(env, tmp_path, dead[0]["id"])["status"] != "processed" and time.monotonic() < deadline:
            time.sleep(0.2)
        replayed = shown(env, tmp_path, dead[0]["id"])
        assert replayed["status"] == "processed"
        assert replayed["handler_results"]["remit.sandbox.grant_seats"]["ok"] is True
        assert listed(env, tmp_path, "webhooks", "list", "--status", "dead") == []
        assert stop(proc) == 0
