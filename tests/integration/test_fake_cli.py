"""``remit fake …``, ``remit demo`` and ``remit webhooks register/check`` as an operator runs them."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import NamedTuple

import pytest
import typer
from typer.testing import CliRunner

from remit.cli import app as remit_app
from remit.cli.webhook_endpoints import check_command, register_command
from remit.webhooks.event_types import handled_event_types
from tests.support.processes import dead_url

runner = CliRunner()


class Worlds(NamedTuple):
    here: dict[str, str]
    other: dict[str, str]
    url: str


@pytest.fixture
def env(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("REMIT_ENV", "test")
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("REMIT_PROCESSOR", raising=False)
    return monkeypatch


def run(*args: str) -> object:
    return runner.invoke(remit_app, list(args))


def test_trigger_keeps_undelivered_events_and_says_so(env):
    url = dead_url()
    result = run("fake", "trigger", "customer.updated", "--url", url, "--json")
    assert result.exit_code == 1
    assert "remit fake deliver" in result.output
    events = run("fake", "events", "--json")
    assert events.exit_code == 0
    rows = json.loads(events.stdout)
    assert [r["type"] for r in rows] == ["customer.updated", "customer.created"]
    assert {r["delivery_status"] for r in rows} == {"failed"}
    unknown = run("fake", "trigger", "invoice.payed")
    assert unknown.exit_code == 2
    assert "Did you mean invoice.paid" in unknown.output
    assert "charge.dispute.created" in unknown.output  # every valid name, not just a pointer to --list
    listed = run("fake", "trigger", "--list")
    assert "invoice.paid" in listed.stdout.split()


def test_clock_and_scripted_failures(env):
    before = run("fake", "clock", "show").stdout.strip()
    advanced = run("fake", "clock", "advance", "2d", "--url", dead_url(), "--json")
    assert advanced.exit_code == 0, advanced.output
    after = run("fake", "clock", "show").stdout.strip()
    assert after > before
    assert run("fake", "fail", "--status", "429", "--count", "2", "--method", "customers.create").exit_code == 0
    assert run("fake", "fail", "--status", "401", "--method", "balance.retrieve").exit_code == 0
    assert run("fake", "fail", "--status", "418").exit_code != 0
    assert run("fake", "fail", "--status", "500", "--method", "nope.nope").exit_code != 0
    failures = json.loads(run("fake", "failures", "--json").stdout)
    assert [(f["method"], f["status"], f["remaining"]) for f in failures] == [
        ("customers.create", "429", 2),
        ("balance.retrieve", "401", 1),
    ]
    assert json.loads(run("fake", "failures", "--clear", "--json").stdout) == []


def test_demo_needs_a_running_service(env):
    result = run("demo", "--url", dead_url())
    assert result.exit_code == 1
    assert "remit up" in result.output


webhooks_app = typer.Typer()
webhooks_app.command("register")(register_command)
webhooks_app.command("check")(check_command)


def test_register_then_check_the_endpoint(env):
    url = "https://remit.example/webhooks/stripe"
    missing = runner.invoke(webhooks_app, ["check", "--url", url])
    assert missing.exit_code == 1
    assert "no webhook endpoint is registered" in missing.output
    registered = runner.invoke(webhooks_app, ["register", "--url", url])
    assert registered.exit_code == 0, registered.output
    assert "STRIPE_WEBHOOK_SECRET" in registered.output
    assert f"webhooks check --url {url}`" in " ".join(registered.output.split())  # the hint checks this URL
    secret = next(
        word.split("=", 1)[1] for word in registered.output.split() if word.startswith("STRIPE_WEBHOOK_SECRET=whsec_")
    )
    again = runner.invoke(webhooks_app, ["register", "--url", url])
    assert again.exit_code == 1
    assert "already registered" in again.output
    unset = runner.invoke(webhooks_app, ["check", "--url", url])
    assert unset.exit_code == 1
    assert "STRIPE_WEBHOOK_SECRET is not set" in unset.output
    env.setenv("STRIPE_WEBHOOK_SECRET", "whsec_wrong")
    wrong = runner.invoke(webhooks_app, ["check", "--url", url, "--json"])
    assert wrong.exit_code == 1
    assert "does not contain" in json.loads(wrong.stdout.splitlines()[0])["problems"][0]
    env.setenv("STRIPE_WEBHOOK_SECRET", f"{secret},whsec_old")
    ok = runner.invoke(webhooks_app, ["check", "--url", url, "--json"])
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.stdout)
    assert report["ok"] is True
    assert report["problems"] == []
    assert secret not in ok.output


def test_register_can_write_the_secret_to_a_file(env, tmp_path):
    target = tmp_path / "secret"
    result = runner.invoke(webhooks_app, ["register", "--url", "https://r.example/wh", "--secret-file", str(target)])
    assert result.exit_code == 0, result.output
    secret = target.read_text().strip()
    assert secret.startswith("whsec_")
    assert secret not in result.output
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert len(handled_event_types()) == len(set(handled_event_types()))


def test_trigger_list_json_prints_one_json_array_of_the_names():
    listed = run("fake", "trigger", "--list", "--json")
    assert listed.exit_code == 0, listed.output
    names = json.loads(listed.stdout)
    assert "invoice.paid" in names
    assert names == sorted(set(names), key=names.index)  # each once


@contextlib.asynccontextmanager
async def two_worlds(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Worlds]:
    """A remit service on ``db_url`` (this world) and a migrated second fake world on its own SQLite file, each
    as a command's environment, with the service's URL."""
    from remit.config import Settings
    from remit.parts import build_runtime
    from remit.service import build_server

    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("REMIT_PROCESSOR", raising=False)
    other = {"DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}", "REMIT_ENV": "test"}
    here = {"DATABASE_URL": db_url, "REMIT_ENV": "test"}
    assert (await asyncio.to_thread(runner.invoke, remit_app, ["migrate"], env=other)).exit_code == 0
    runtime = build_runtime(Settings.model_validate(here))
    listening = asyncio.get_running_loop().create_future()
    server = build_server(runtime, "127.0.0.1", 0, access_log=False, on_started=listening.set_result)
    serving = asyncio.create_task(server.serve())
    try:
        yield Worlds(here, other, (await asyncio.wait_for(listening, 10)).base_url)
    finally:
        server.should_exit = True
        await serving
        await runtime.close()


async def test_trigger_fails_when_the_service_called_every_new_event_a_duplicate(db_url, tmp_path, monkeypatch):
    """The service's database already holds this world's event ids, from another fake world (a trigger run
    with another DATABASE_URL delivered there first): the ids are found here, but the service stored none of
    this world's events. That is a failure naming the duplicates, not a success."""
    async with two_worlds(db_url, tmp_path, monkeypatch) as (here, other, url):

        def trigger(env):
            return runner.invoke(remit_app, ["fake", "trigger", "customer.created", "--url", url], env=env)

        foreign = await asyncio.to_thread(trigger, other)
        assert foreign.exit_code == 1, foreign.output
        assert "not in this command's database" in foreign.output
        duplicated = await asyncio.to_thread(trigger, here)
        assert duplicated.exit_code == 1, duplicated.output
        assert "duplicates of events it already had" in duplicated.output
        assert "another fake world" in duplicated.output
        fresh = await asyncio.to_thread(trigger, here)  # this world's next ids are new to the service
        assert fresh.exit_code == 0, fresh.output


async def test_clock_advance_fails_when_the_service_called_every_new_event_a_duplicate(db_url, tmp_path, monkeypatch):
    """As for a trigger: another fake world (another DATABASE_URL) subscribed and advanced its clock first,
    delivering to the same service, so the renewal events this world's clock causes carry ids the service
    already holds. The service stores none of them; that is a failure naming the duplicates, not a success."""
    async with two_worlds(db_url, tmp_path, monkeypatch) as (here, other, url):

        def fake(env, *args):
            return runner.invoke(remit_app, ["fake", *args, "--url", url], env=env)

        def subscribe(env):
            return fake(env, "trigger", "customer.subscription.created")

        def renew(env):
            return fake(env, "clock", "advance", "31d")

        assert (await asyncio.to_thread(subscribe, other)).exit_code == 1  # stored in the service's database
        foreign = await asyncio.to_thread(renew, other)
        assert foreign.exit_code == 1, foreign.output
        assert "not in this command's database" in foreign.output
        assert (await asyncio.to_thread(subscribe, here)).exit_code == 1  # the same ids: duplicates
        duplicated = await asyncio.to_thread(renew, here)
        assert duplicated.exit_code == 1, duplicated.output
        assert "duplicates of events it already had" in duplicated.output
        assert "another fake world" in duplicated.output
        fresh = await asyncio.to_thread(renew, here)  # the next renewal's ids are new to the service
        assert fresh.exit_code == 0, fresh.output
