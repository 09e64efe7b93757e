"""The official SDK's own tests against the fake processor: how much of what reaches the fake passes.

    .venv/bin/python bench/stripe_sdk_tests.py /tmp/stripe-python [--python /tmp/sdk-venv/bin/python]
        [--json] [-- PYTEST_ARGS...]

The checkout is a copy of https://github.com/stripe/stripe-python (any tag; never committed here). Its
``tests/`` expect stripe-mock at ``STRIPE_MOCK_HOST``:``STRIPE_MOCK_PORT``; this script instead starts a real
``remit up`` on the fake processor (a fresh SQLite file, a free port), then runs pytest in the checkout with
``--python`` (an interpreter with the checkout's test requirements: pytest, pytest-mock, anyio[trio], httpx,
aiohttp, requests) and the plugin :mod:`_sdk_probe`, which relays the SDK's requests to ``/fake`` and notes
which test sent which request.

A test *reaches* the fake when it sent at least one request that arrived there (most of the SDK's tests stub
their HTTP client and never do); it is *on served routes* when every one of its requests was one the fake's
route table serves (none answered "Unrecognized request URL"). The SDK's tests name ids stripe-mock invents
(``cus_123``); the plugin gives each test fresh objects of the kinds the fake keeps under those names (see
:mod:`_sdk_probe`). Printed: every failure on served routes with its first error line and requests, the
unserved routes by requests, the counts, and as the LAST line one JSON object: ``tests``, ``reaching``,
``reaching_passed``, ``unserved_routes``, ``on_served_routes``, ``on_served_routes_passed``,
``on_served_routes_failed``, ``pass_rate_on_served_routes``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"remit up exited with {process.returncode} before it was healthy")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"remit up did not become healthy at {url} within {timeout:.0f} s")


def _remit_executable() -> str:
    candidate = Path(sys.executable).with_name("remit")
    return str(candidate) if candidate.exists() else "remit"


def run(checkout: Path, python: str, pytest_args: list[str]) -> dict[str, Any]:
    """Serve the fake with ``remit up``, run the checkout's tests against it, and return the probe's results."""
    with tempfile.TemporaryDirectory(prefix="remit-sdk-tests-") as scratch:
        port = _free_port()
        env = dict(
            os.environ,
            DATABASE_URL=f"sqlite:///{scratch}/remit.db",
            REMIT_PROCESSOR="fake",
            REMIT_ENV="development",
            REMIT_LOG_LEVEL="WARNING",
        )
        env.pop("REMIT_URL", None)
        log = open(Path(scratch) / "remit.log", "wb")  # noqa: SIM115 - closed below
        server = subprocess.Popen(
            [_remit_executable(), "up", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=scratch,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_healthy(f"http://127.0.0.1:{port}/health", server)
            out = Path(scratch) / "probe.json"
            probe_env = dict(
                os.environ,
                PYTHONPATH=str(BENCH),
                REMIT_SDK_PROBE_UPSTREAM=f"127.0.0.1:{port}",
                REMIT_SDK_PROBE_OUT=str(out),
            )
            subprocess.run(
                [
                    python,
                    "-m",
                    "pytest",
                    "-p",
                    "_sdk_probe",
                    "-p",
                    "no:cacheprovider",
                    "-q",
                    "-o",
                    "addopts=",
                    *(pytest_args or ["tests"]),
                ],
                cwd=checkout,
                env=probe_env,
                stdout=subprocess.DEVNULL,
                check=False,
            )
            if not out.exists():
                raise SystemExit("the SDK's test run wrote no results (did pytest start? try --python)")
            results: dict[str, Any] = json.loads(out.read_text())
            return results
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()


def _reaching(results: dict[str, Any]) -> dict[str, Any]:
    return {nodeid: r for nodeid, r in results.items() if r["requests"] and r["outcome"] != "skipped"}


def _on_routes(result: dict[str, Any]) -> bool:
    """Whether every request of the test was one the fake serves (none met "Unrecognized request URL")."""
    return all(request["route"] for request in result["requests"])


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    reaching = _reaching(results)
    served = {nodeid: r for nodeid, r in reaching.items() if _on_routes(r)}
    passed = sum(1 for r in served.values() if r["outcome"] == "passed")
    return {
        "tests": len(results),
        "reaching": len(reaching),
        "reaching_passed": sum(1 for r in reaching.values() if r["outcome"] == "passed"),
        "unserved_routes": len(reaching) - len(served),
        "on_served_routes": len(served),
        "on_served_routes_passed": passed,
        "on_served_routes_failed": len(served) - passed,
        "pass_rate_on_served_routes": round(passed / len(served), 4) if served else None,
    }


def report(results: dict[str, Any]) -> None:
    reaching = _reaching(results)
    failed = {n: r for n, r in reaching.items() if _on_routes(r) and r["outcome"] == "failed"}
    print(f"Failures on routes the fake serves ({len(failed)}):")
    for nodeid, result in sorted(failed.items()):
        calls = "; ".join(f"{c['request']} {c['status']}" for c in result["requests"][:4])
        print(f"  {nodeid}\n      {result['failure']}\n      [{calls}]")
    unserved: dict[str, int] = collections.Counter(
        call["request"].split(" ")[0]
        + " "
        + re.sub(r"/[a-z]+_(?=[A-Za-z0-9_]*\d)[A-Za-z0-9_]+", "/{id}", call["request"].split(" ")[1])
        for r in reaching.values()
        for call in r["requests"]
        if not call["route"]
    )
    print(f"Routes the fake does not serve, by requests ({sum(unserved.values())}):")
    for route, count in unserved.most_common():
        print(f"  {count:4d}  {route}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkout", type=Path, help="a stripe-python checkout (its tests/ are run)")
    parser.add_argument("--python", default=sys.executable, help="interpreter with the SDK's test requirements")
    parser.add_argument("--json", dest="json_out", type=Path, help="also write every test's result here")
    args, pytest_args = parser.parse_known_args(argv)
    results = run(args.checkout.resolve(), args.python, [arg for arg in pytest_args if arg != "--"])
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=1))
    report(results)
    summary = summarize(results)
    print(
        f"{summary['tests']} tests; {summary['reaching']} reached the fake, {summary['unserved_routes']} of them "
        f"calling routes it does not serve; on served routes {summary['on_served_routes_passed']} of "
        f"{summary['on_served_routes']} passed"
    )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
