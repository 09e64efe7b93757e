"""The sandbox host app: its seat rule (pure) and when ``remit up`` plays it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from remit import sandbox
from remit.config import Settings
from remit.errors import PermanentFailure
from remit.sandbox.seats import SeatsUnreadable, seats_of


def test_seats_are_read_strictly_and_default_to_one() -> None:
    assert seats_of({"id": "sub_1", "metadata": {}}) == 1
    assert seats_of({"id": "sub_1"}) == 1
    assert seats_of({"id": "sub_1", "metadata": {"seats": "12"}}) == 12
    assert seats_of({"id": "sub_1", "metadata": {"seats": " 3 "}}) == 3
    for typed in ("twelve", "0", "-2", "1.5", "", "12 seats", "١٢"):
        with pytest.raises(SeatsUnreadable, match=r"sub_1: metadata\.seats") as caught:
            seats_of({"id": "sub_1", "metadata": {"seats": typed}})
        assert isinstance(caught.value, PermanentFailure)


def test_the_sandbox_plays_the_host_only_on_the_fake_without_host_modules() -> None:
    def settings(**values: str) -> Settings:
        return Settings.model_validate({"REMIT_ENV": "development", **values})

    assert sandbox.applies(settings())
    assert not sandbox.applies(
        settings(REMIT_PROCESSOR="stripe", STRIPE_API_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET="whsec_x")
    )
    assert not sandbox.applies(settings(REMIT_JOB_MODULES="myapp.jobs"))
    assert not sandbox.applies(settings(REMIT_ENV="production", REMIT_SERVICE_TOKENS="t"))


def test_importing_remit_never_registers_the_sandbox_handlers() -> None:
    """Only ``remit up`` composes them (:func:`remit.service.service_runtime`): a library user, ``remit worker``
    and ``remit serve`` import these modules and must not find a pretend host's handler acting on their
    events."""
    code = (
        "import remit, remit.cli, remit.service, remit.sandbox, remit.sandbox.seats, remit.webhooks.dispatch\n"
        "from remit.config import Settings\n"
        "from remit.parts import build_runtime\n"
        "runtime = build_runtime(Settings.model_validate({'DATABASE_URL': 'sqlite:///:memory:'}))\n"
        "from remit.parts import PARTS\n"
        "remits = [handler.name for part in PARTS for handler in part.event_handlers]\n"
        "assert remits[0] == 'remit.mirror', remits\n"
        "assert runtime.handlers.names() == remits, runtime.handlers.names()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
